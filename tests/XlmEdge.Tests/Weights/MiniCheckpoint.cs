using System.Text.Json;
using XlmEdge.Model;

namespace XlmEdge.Tests.Weights;

/// <summary>
/// A very small XLM checkpoint (vocabulary 24, d 8, 1 layer, 2 heads, 16 positions) made in the
/// test, so that a packed file is small enough to cut at every byte; or one of any geometry.
/// </summary>
internal static class MiniCheckpoint
{
    public const int Vocab = 24, Dim = 8, Positions = 16;

    /// <summary>The checkpoint's geometry; its tensors are the schema's for it.</summary>
    public static XlmGeometry Geometry { get; } = new(Vocab, Dim, layers: 1, heads: 2, languageCount: 2,
        useLanguageEmbeddings: true, Positions, 1e-12f, isCausal: false);

    public static string Create(string parent, XlmGeometry? geometry = null, string name = "mini-xlm")
    {
        var g = geometry ?? Geometry;
        string dir = Path.Combine(parent, name);
        Directory.CreateDirectory(dir);
        var languages = Enumerable.Range(0, g.LanguageCount).Select(i => i switch { 0 => "en", 1 => "fr", _ => $"l{i}" });
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["vocab_size"] = g.VocabularySize, ["emb_dim"] = g.EmbeddingDimension, ["n_layers"] = g.Layers, ["n_heads"] = g.Heads,
            ["n_langs"] = g.LanguageCount, ["use_lang_emb"] = g.UsesLanguageEmbeddings, ["max_position_embeddings"] = g.ContextLength,
            ["layer_norm_eps"] = 1e-12, ["lang2id"] = languages.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i),
        }));
        var tokens = new List<string> { "<s>", "</s>", "<pad>", "<unk>", "<special0>", "<special1>" };
        for (int i = tokens.Count; i < g.VocabularySize; i++)
            tokens.Add(i < 26 ? ((char)('a' + i)).ToString() + (i % 2 == 0 ? "</w>" : "") : $"w{i}</w>");
        File.WriteAllText(Path.Combine(dir, "vocab.json"), JsonSerializer.Serialize(tokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i)));
        File.WriteAllText(Path.Combine(dir, "merges.txt"), "g h</w>\ni j\nk l</w>\n");

        var random = new Random(5);
        var tensors = new List<KeyValuePair<string, SafetensorsEntry>>();
        foreach (var tensor in XlmTensors.In(g))
        {
            var values = new float[tensor.Shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < values.Length; i++)
                values[i] = (float)(Half)(random.NextDouble() - 0.5);
            tensors.Add(new(tensor.HfName, SafetensorsEntry.FromFloats(tensor.Shape, values)));
        }
        TestSafetensors.Write(Path.Combine(dir, "model.safetensors"), tensors);
        return dir;
    }
}
