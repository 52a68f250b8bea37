using System.Text.Json;
using XlmEdge.Weights;

namespace XlmEdge.Tests.Weights;

/// <summary>
/// What pack writes, read back with the runtime's GGUF reader and compared with the HF files
/// read independently here (safetensors, config.json, vocab.json, merges.txt).
/// </summary>
public class PackedFileTests
{
    public static TheoryData<string, string> Checkpoints => new()
    {
        { "tiny-enfr", "f16" }, { "tiny-enfr", "f32" }, { "other-geometry", "f16" }, { "other-geometry", "f32" },
    };

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void TensorsEqualTheSourceValues(string fixture, string dtype)
    {
        using var tmp = new TempDir();
        string source = Path.Combine(Fixtures.Root, fixture);
        var output = WeightsTool.Pack(tmp.Checkpoint(source, "model.safetensors"), tmp.File("x.gguf"), dtype);
        var expected = TestSafetensors.Read(Path.Combine(source, "model.safetensors"));
        using var file = GgufFile.Open(output);

        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), file.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.False(file.TryGetTensor("pred_layer.proj.weight", out _));
        foreach (var (name, entry) in expected)
        {
            Assert.True(file.TryGetTensor(name, out var t), name);
            Assert.Equal(entry.Shape, t.Shape);
            Assert.Equal(0, t.DataOffset % 64);
            var values = entry.ToFloats();
            if (dtype == "f16" && entry.Shape.Length == 2)
            {
                Assert.Equal(GgufTensorType.F16, t.Type);
                var stored = file.GetHalf(name);
                Assert.Equal(values.Length, stored.Length);
                for (int i = 0; i < values.Length; i++)
                    Assert.True(values[i] == (float)stored[i], $"{name}[{i}]: {values[i]} != {(float)stored[i]}");
            }
            else
            {
                Assert.Equal(GgufTensorType.F32, t.Type);
                Assert.Equal(values, file.GetFloat32Tensor(name).ToArray());
            }
        }
    }

    [Theory]
    [InlineData("tiny-enfr", "f16")]
    [InlineData("other-geometry", "f32")]
    public void MetadataMatchesTheHfFiles(string fixture, string dtype)
    {
        using var tmp = new TempDir();
        string source = Path.Combine(Fixtures.Root, fixture);
        var output = WeightsTool.Pack(tmp.Checkpoint(source, "model.safetensors"), tmp.File("x.gguf"), dtype);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(source, "config.json")));
        using var vocab = JsonDocument.Parse(File.ReadAllText(Path.Combine(source, "vocab.json")));
        var c = config.RootElement;
        uint U(string key) => c.GetProperty(key).GetUInt32();
        using var file = GgufFile.Open(output);

        Assert.Equal(3u, file.Version);
        Assert.Equal(new FileInfo(output).Length, file.FileLength);
        Assert.Equal("xlm", file.GetString("general.architecture"));
        Assert.False(file.TryGetMetadata("general.name", out _), "the fixtures' configs name no model");
        Assert.False(file.TryGetMetadata("general.license", out _), "the fixtures have no model card");
        Assert.Equal(dtype == "f16" ? 1u : 0u, file.GetUInt32("general.file_type"));
        Assert.Equal(64u, file.GetUInt32("general.alignment"));
        Assert.Equal(U("vocab_size"), file.GetUInt32("xlm.vocab_size"));
        Assert.Equal(U("emb_dim"), file.GetUInt32("xlm.embedding_length"));
        Assert.Equal(4 * U("emb_dim"), file.GetUInt32("xlm.feed_forward_length"));
        Assert.Equal(U("n_layers"), file.GetUInt32("xlm.block_count"));
        Assert.Equal(U("n_heads"), file.GetUInt32("xlm.attention.head_count"));
        Assert.Equal(U("max_position_embeddings"), file.GetUInt32("xlm.context_length"));
        Assert.Equal((float)c.GetProperty("layer_norm_eps").GetDouble(), file.GetFloat32("xlm.attention.layer_norm_epsilon"));
        Assert.Equal(c.GetProperty("lang2id").EnumerateObject().OrderBy(p => p.Value.GetInt32()).Select(p => p.Name), file.GetStringArray("xlm.languages"));
        Assert.Equal(U("n_langs") > 1 && c.GetProperty("use_lang_emb").GetBoolean(), file.GetBool("xlm.use_lang_emb"));
        Assert.False(file.GetBool("xlm.sinusoidal_embeddings"));
        Assert.False(file.GetBool("xlm.causal"));
        Assert.True(file.GetBool("xlm.gelu_activation"));
        Assert.True(file.GetBool("xlm.do_lowercase_and_remove_accent"));
        Assert.Equal(U("mask_index"), file.GetUInt32("tokenizer.ggml.mask_token_id"));
        Assert.Equal(U("bos_index"), file.GetUInt32("tokenizer.ggml.bos_token_id"));
        Assert.Equal(U("eos_index"), file.GetUInt32("tokenizer.ggml.eos_token_id"));
        Assert.Equal(U("pad_index"), file.GetUInt32("tokenizer.ggml.padding_token_id"));
        Assert.Equal(U("unk_index"), file.GetUInt32("tokenizer.ggml.unknown_token_id"));
        Assert.False(file.TryGetMetadata("xlm.mask_token_id", out _), "the mask id is under llama.cpp's key only");
        // llama.cpp's token types: <unk> UNKNOWN (2), the other specials CONTROL (3), the rest NORMAL (1)
        var tokenTypes = file.GetInt32Array("tokenizer.ggml.token_type");
        var vocabulary = vocab.RootElement.EnumerateObject().OrderBy(p => p.Value.GetInt32()).Select(p => p.Name).ToArray();
        Assert.Equal(vocabulary.Length, tokenTypes.Length);
        for (int i = 0; i < vocabulary.Length; i++)
        {
            int expected = vocabulary[i] == "<unk>" ? 2
                : vocabulary[i] is "<s>" or "</s>" or "<pad>" || System.Text.RegularExpressions.Regex.IsMatch(vocabulary[i], "^<special[0-9]>$") ? 3 : 1;
            Assert.True(expected == tokenTypes[i], $"token {i} '{vocabulary[i]}' has type {tokenTypes[i]}, expected {expected}");
        }
        Assert.Equal("xlm-bpe", file.GetString("tokenizer.ggml.model"));
        Assert.Equal(vocab.RootElement.EnumerateObject().OrderBy(p => p.Value.GetInt32()).Select(p => p.Name), file.GetStringArray("tokenizer.ggml.tokens"));
        var lines = File.ReadAllText(Path.Combine(source, "merges.txt")).Split('\n')[..^1];
        Assert.Equal(lines.Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..2])), file.GetStringArray("tokenizer.ggml.merges"));
        Assert.Matches("^xxh3-64:[0-9a-f]{16}$", file.ContentHash);
        Assert.True(file.VerifyContentHash(out _));
    }

    [Fact]
    public void TokenizerConfigDecidesLowercasing()
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        var path = Path.Combine(dir, "tokenizer_config.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"do_lowercase_and_remove_accent\": true", "\"do_lowercase_and_remove_accent\": false"));
        var r = WeightsTool.Run("pack", dir, "-o", tmp.File("x.gguf"));
        Assert.Equal(0, r.ExitCode);
        using var file = GgufFile.Open(tmp.File("x.gguf"));
        Assert.False(file.GetBool("xlm.do_lowercase_and_remove_accent"));
    }

    [Fact]
    public void MergesWithoutAFinalNewlineLoseTheLastLineAsInHf()
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        var merges = File.ReadAllText(Path.Combine(dir, "merges.txt"));
        File.WriteAllText(Path.Combine(dir, "merges.txt"), merges.TrimEnd('\n'));
        WeightsTool.Pack(dir, tmp.File("x.gguf"));
        using var file = GgufFile.Open(tmp.File("x.gguf"));
        var lines = merges.Split('\n')[..^1];
        Assert.Equal(lines[..^1], file.GetStringArray("tokenizer.ggml.merges"));
    }
}
