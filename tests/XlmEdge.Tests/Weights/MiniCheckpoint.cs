using System.Text.Json;
using XlmEdge.Model;

namespace XlmEdge.Tests.Weights;

/// <summary>
/// A very small XLM checkpoint (vocabulary 24, d 8, 1 layer, 2 heads, 16 positions) made in the
/// test, so that a packed file is small enough to cut at every byte.
/// </summary>
internal static class MiniCheckpoint
{
    public const int Vocab = 24, Dim = 8, Positions = 16;

    /// <summary>The checkpoint's geometry; its tensors are the schema's for it.</summary>
    public static XlmGeometry Geometry { get; } = new(Vocab, Dim, layers: 1, heads: 2, languageCount: 2,
        useLanguageEmbeddings: true, Positions, 1e-12f, isCausal: false);

    public static string Create(string parent)
    {
        string dir = Path.Combine(parent, "mini-xlm");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"),
            "{\"vocab_size\": " + Vocab + ", \"emb_dim\": " + Dim + ", \"n_layers\": 1, \"n_heads\": 2, \"n_langs\": 2, "
            + "\"use_lang_emb\": true, \"max_position_embeddings\": " + Positions + ", \"layer_norm_eps\": 1e-12, "
            + "\"lang2id\": {\"en\": 0, \"fr\": 1}}");
        var tokens = new List<string> { "<s>", "</s>", "<pad>", "<unk>", "<special0>", "<special1>" };
        for (int i = tokens.Count; i < Vocab; i++)
            tokens.Add(((char)('a' + i)).ToString() + (i % 2 == 0 ? "</w>" : ""));
        File.WriteAllText(Path.Combine(dir, "vocab.json"), JsonSerializer.Serialize(tokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i)));
        File.WriteAllText(Path.Combine(dir, "merges.txt"), "g h</w>\ni j\nk l</w>\n");

        var random = new Random(5);
        var tensors = new List<KeyValuePair<string, SafetensorsEntry>>();
        foreach (var tensor in XlmTensors.In(Geometry))
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
