using System.Runtime.InteropServices;
using System.Text.Json;
using XlmEdge.Kernels;
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
            bool panels = InPanels(name);
            int N = (int)entry.Shape[0], K = entry.Shape.Length == 2 ? (int)entry.Shape[1] : 1;
            if (dtype == "f16" && entry.Shape.Length == 2)
            {
                Assert.Equal(GgufTensorType.F16, t.Type);
                var stored = file.GetHalf(name).ToArray();
                if (panels)
                {
                    var rows = new Half[stored.Length];
                    PanelLayout.Unpack(stored, N, K, rows);
                    stored = rows;
                }
                Assert.Equal(values.Length, stored.Length);
                for (int i = 0; i < values.Length; i++)
                    Assert.True(values[i] == (float)stored[i], $"{name}[{i}]: {values[i]} != {(float)stored[i]}");
            }
            else
            {
                Assert.Equal(GgufTensorType.F32, t.Type);
                var stored = file.GetFloat32Tensor(name).ToArray();
                if (panels)
                {
                    var rows = new float[stored.Length];
                    PanelLayout.Unpack(stored, N, K, rows);
                    stored = rows;
                }
                Assert.Equal(values, stored);
            }
        }
    }

    // The blocks' Linear weights (q, k, v, out, lin1, lin2), stored in row panels (PanelLayout) since the layout key exists.
    private static bool InPanels(string name) =>
        System.Text.RegularExpressions.Regex.IsMatch(name, @"^transformer\.(attentions\.\d+\.(q|k|v|out)_lin|ffns\.\d+\.lin[12])\.weight$");

    [Theory]
    [InlineData("f32")]
    [InlineData("f16")]
    public void FilesPackedBeforeThePanelLayoutStillLoadAndAgree(string dtype)
    {
        using var tmp = new TempDir();
        var output = WeightsTool.Pack(tmp.Checkpoint(Path.Combine(Fixtures.Root, "tiny-enfr"), "model.safetensors"), tmp.File("x.gguf"), dtype);
        using (var file = GgufFile.Open(output))
            Assert.Equal(GgufFormat.LinearLayoutPanels, file.GetString(GgufFormat.KeyLinearLayout));
        // A file as pack wrote it before the layout: no key, every Linear row-major.
        string old = tmp.File("old.gguf");
        TestGguf.Rewrite(output, old, (metadata, tensors) =>
        {
            Assert.Equal(1, metadata.RemoveAll(m => m.Key == GgufFormat.KeyLinearLayout));
            for (int i = 0; i < tensors.Count; i++)
                if (InPanels(tensors[i].Name))
                    tensors[i] = tensors[i] with { Data = RowMajor(tensors[i]) };
        });

        var golden = Model.Goldens.Load("tiny-enfr").Cases.OrderByDescending(c => c.InputIds.Length).First();
        float[] Hidden(string path, bool generated)
        {
            using var model = XlmModel.Load(path);
            // The generated forward runs panels only; the file packed before them takes the generic one.
            Assert.Same(generated && CpuFeatures.Selected != SimdPath.Scalar ? XlmPresets.TinyEnfr : null, model.GeneratedForward);
            var hidden = new float[golden.InputIds.Length * model.Config.Geometry.EmbeddingDimension];
            model.EncodeIds(golden.InputIds, golden.LangId, hidden);
            return hidden;
        }
        float[] panels = Hidden(output, generated: true), rows = Hidden(old, generated: false);
        // Same weights, two kernels that sum in different orders: agreement far below the goldens' 5e-5
        // (reading either file in the other's layout scrambles the weights and differs by O(1)).
        Assert.True(Model.Goldens.MaxDiff(panels, rows) <= 1e-5f, $"{dtype}: panel and row-major files differ by {Model.Goldens.MaxDiff(panels, rows)}");
        if (dtype == "f32")
            Assert.True(Model.Goldens.MaxDiff(rows, golden.HiddenStates.SelectMany(r => r).ToArray()) <= 5e-5f);
    }

    [Fact]
    public void InspectShowsTheLinearLayoutAndAnUnknownOneIsRefusedWithRePack()
    {
        using var tmp = new TempDir();
        var output = WeightsTool.Pack(tmp.Checkpoint(Path.Combine(Fixtures.Root, "tiny-enfr"), "model.safetensors"), tmp.File("x.gguf"));
        string other = tmp.File("other.gguf");
        TestGguf.Rewrite(output, other, (metadata, _) => metadata.Set(GgufFormat.KeyLinearLayout, GgufValueType.String, "rows"));
        var e = Assert.Throws<ModelFileException>(() => XlmModel.Load(other));
        Assert.Contains("re-pack", e.Message);
        Assert.Contains("re-pack", WeightsTool.Run("verify", other).SingleError());
        Assert.Contains($"{GgufFormat.KeyLinearLayout}", WeightsTool.Run("inspect", output).Stdout);
        Assert.Equal(0, WeightsTool.Run("verify", output).ExitCode);
    }

    private static byte[] RowMajor(TestTensor t)
    {
        int N = (int)t.Shape[0], K = (int)t.Shape[1];
        var data = new byte[t.Data.Length];
        if (t.Type == (uint)GgufTensorType.F16)
            PanelLayout.Unpack(MemoryMarshal.Cast<byte, Half>(t.Data), N, K, MemoryMarshal.Cast<byte, Half>(data.AsSpan()));
        else
            PanelLayout.Unpack(MemoryMarshal.Cast<byte, float>(t.Data), N, K, MemoryMarshal.Cast<byte, float>(data.AsSpan()));
        return data;
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
