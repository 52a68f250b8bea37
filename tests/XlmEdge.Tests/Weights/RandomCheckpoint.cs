using System.Text.Json;
using XlmEdge.Model;

namespace XlmEdge.Tests.Weights;

/// <summary>
/// An HF checkpoint folder of any XLM geometry with random fp16 weights (model.safetensors, F16),
/// tiny-enfr's vocabulary and merges, and a config.json with the given languages; for tests of
/// configurations no fixture has.
/// </summary>
internal static class RandomCheckpoint
{
    /// <param name="parent">Folder to create the checkpoint folder in.</param>
    /// <param name="name">Name of the checkpoint folder.</param>
    /// <param name="geometry">The geometry; its vocabulary size must be tiny-enfr's (1786).</param>
    /// <param name="languages">Names for lang2id/id2lang, or null to name none.</param>
    /// <param name="writeCausal">Whether config.json says <c>"causal": true</c> (the geometry's flag otherwise stays unwritten).</param>
    /// <param name="seed">Seed of the random weights.</param>
    public static string Create(string parent, string name, XlmGeometry geometry, string[]? languages, bool writeCausal, int seed)
    {
        string dir = Path.Combine(parent, name);
        Directory.CreateDirectory(dir);
        foreach (var file in new[] { "vocab.json", "merges.txt", "tokenizer_config.json" })
            File.Copy(Path.Combine(Fixtures.TinyEnfr, file), Path.Combine(dir, file));
        // tiny-enfr's tokenizer_config names en and fr: drop its language maps so config.json's are the ones read.
        var tokenizerConfig = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")))!;
        tokenizerConfig.Remove("lang2id");
        tokenizerConfig.Remove("id2lang");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), JsonSerializer.Serialize(tokenizerConfig));

        var config = new Dictionary<string, object>
        {
            ["architectures"] = new[] { "XLMWithLMHeadModel" },
            ["vocab_size"] = geometry.VocabularySize,
            ["emb_dim"] = geometry.EmbeddingDimension,
            ["n_layers"] = geometry.Layers,
            ["n_heads"] = geometry.Heads,
            ["n_langs"] = geometry.LanguageCount,
            ["use_lang_emb"] = geometry.UsesLanguageEmbeddings,
            ["max_position_embeddings"] = geometry.ContextLength,
            ["layer_norm_eps"] = 1e-12,
            ["mask_index"] = 5,
        };
        if (writeCausal)
            config["causal"] = true;
        if (languages is not null)
        {
            config["lang2id"] = languages.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i);
            config["id2lang"] = languages.Select((l, i) => (l, i)).ToDictionary(p => p.i.ToString(System.Globalization.CultureInfo.InvariantCulture), p => p.l);
        }
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));

        // Scaled like trained XLM weights (embeddings ~ d^-0.5, linears ~ 0.02, norms ~ 1), so activations stay O(1).
        var random = new Random(seed);
        var tensors = new List<KeyValuePair<string, SafetensorsEntry>>();
        foreach (var tensor in XlmTensors.In(geometry))
        {
            var values = new Half[tensor.Shape.Aggregate(1L, (a, b) => a * b)];
            bool norm = tensor.HfName.Contains("layer_norm", StringComparison.Ordinal);
            double scale = tensor.Spec.Role == TensorRole.Embedding ? 1 / Math.Sqrt(geometry.EmbeddingDimension) : 0.05;
            for (int i = 0; i < values.Length; i++)
                values[i] = (Half)((norm && tensor.HfName.EndsWith("weight", StringComparison.Ordinal) ? 1 : 0) + (random.NextDouble() - 0.5) * 2 * scale);
            tensors.Add(new(tensor.HfName, SafetensorsEntry.FromHalves(tensor.Shape, values)));
        }
        TestSafetensors.Write(Path.Combine(dir, "model.safetensors"), tensors);
        return dir;
    }
}
