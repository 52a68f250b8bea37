using XlmEdge.Weights;

namespace XlmEdge.Tests.Weights;

/// <summary>
/// One validation decides what a valid model is: verify succeeds exactly on the files that load,
/// and pack refuses, with the reason, a checkpoint the runtime could not run.
/// </summary>
public class ModelValidationTests
{
    

    private static readonly Dictionary<string, Action<List<GgufMetadata>, List<TestTensor>>> Edits = new()
    {
        ["as packed"] = (_, _) => { },
        ["another name and an unknown key"] = (m, _) =>
        {
            m.Set("general.name", GgufValueType.String, "renamed");
            m.Set("general.description", GgufValueType.String, "not read by the runtime");
        },
        ["packed before the conventional keys"] = (m, _) =>
        {
            uint mask = m.Get<uint>(GgufFormat.KeyMaskTokenId);
            m.RemoveAll(e => e.Key is GgufFormat.KeyMaskTokenId or GgufFormat.KeyTokenTypes or GgufFormat.KeyFileType
                or GgufFormat.KeyLicense or GgufFormat.KeySourceRepository or GgufFormat.KeySourceUrl);
            m.Set(GgufFormat.KeyLegacyMaskTokenId, GgufValueType.UInt32, mask);
        },
        ["mask id 0"] = (m, _) => m.Set(GgufFormat.KeyMaskTokenId, GgufValueType.UInt32, 0u),
        ["mask id past the vocabulary"] = (m, _) => m.Set(GgufFormat.KeyMaskTokenId, GgufValueType.UInt32, (uint)MiniCheckpoint.Vocab),
        ["legacy mask key disagrees"] = (m, _) => m.Set(GgufFormat.KeyLegacyMaskTokenId, GgufValueType.UInt32, 4u),
        ["bos id 1"] = (m, _) => m.Set(GgufFormat.KeyBosTokenId, GgufValueType.UInt32, 1u),
        ["epsilon NaN"] = (m, _) => m.Set(GgufFormat.KeyLayerNormEpsilon, GgufValueType.Float32, float.NaN),
        ["epsilon infinite"] = (m, _) => m.Set(GgufFormat.KeyLayerNormEpsilon, GgufValueType.Float32, float.PositiveInfinity),
        ["epsilon 0"] = (m, _) => m.Set(GgufFormat.KeyLayerNormEpsilon, GgufValueType.Float32, 0f),
        ["epsilon negative"] = (m, _) => m.Set(GgufFormat.KeyLayerNormEpsilon, GgufValueType.Float32, -1e-12f),
        ["epsilon 1"] = (m, _) => m.Set(GgufFormat.KeyLayerNormEpsilon, GgufValueType.Float32, 1f),
        // Causal is a valid model kind since the xlm-clm support (issue #16): the flag alone makes an MLM file a CLM one.
        ["causal"] = (m, _) => m.Set(GgufFormat.KeyCausal, GgufValueType.Bool, true),
        ["no GELU"] = (m, _) => m.Set(GgufFormat.KeyGeluActivation, GgufValueType.Bool, false),
        ["a language twice"] = (m, _) => m.Set(GgufFormat.KeyLanguages, GgufValueType.Array, new[] { "en", "en" }, GgufValueType.String),
        ["a language name with a space"] = (m, _) => m.Set(GgufFormat.KeyLanguages, GgufValueType.Array, new[] { "en", "f r" }, GgufValueType.String),
        ["an empty language name"] = (m, _) => m.Set(GgufFormat.KeyLanguages, GgufValueType.Array, new[] { "en", "" }, GgufValueType.String),
        ["a token twice"] = (m, _) => EditTokens(m, t => t[10] = t[11]),
        ["no <special1>"] = (m, _) => EditTokens(m, t => t[5] = "<special-one>"),
        ["no <s>"] = (m, _) => EditTokens(m, t => t[0] = "<start>"),
        ["token types of another length"] = (m, _) => m.Set(GgufFormat.KeyTokenTypes, GgufValueType.Array, new int[3], GgufValueType.Int32),
        ["token type 9"] = (m, _) => m.Set(GgufFormat.KeyTokenTypes, GgufValueType.Array, Enumerable.Repeat(9, MiniCheckpoint.Vocab).ToArray(), GgufValueType.Int32),
        ["2^20 blocks"] = (m, _) => m.Set(GgufFormat.KeyBlockCount, GgufValueType.UInt32, 1u << 20),
        ["2^24 blocks"] = (m, _) => m.Set(GgufFormat.KeyBlockCount, GgufValueType.UInt32, 1u << 24),
        ["3 heads"] = (m, _) => m.Set(GgufFormat.KeyHeadCount, GgufValueType.UInt32, 3u),
        ["feed-forward length 3d"] = (m, _) => m.Set(GgufFormat.KeyFeedForwardLength, GgufValueType.UInt32, 3u * MiniCheckpoint.Dim),
        ["another architecture"] = (m, _) => m.Set(GgufFormat.KeyArchitecture, GgufValueType.String, "llama"),
        ["another tokenizer"] = (m, _) => m.Set(GgufFormat.KeyTokenizerModel, GgufValueType.String, "gpt2"),
        ["no merges"] = (m, _) => m.RemoveAll(e => e.Key == GgufFormat.KeyMerges),
        ["an extra tensor"] = (_, t) => t.Add(new TestTensor("transformer.extra.weight", [4], 0, new byte[16])),
        ["a tensor missing"] = (_, t) => t.RemoveAll(x => x.Name == "transformer.layer_norm1.0.bias"),
        ["a bias stored F16"] = (_, t) =>
        {
            int i = t.FindIndex(x => x.Name == "pred_layer.proj.bias");
            t[i] = t[i] with { Type = 1, Data = t[i].Data[..(t[i].Data.Length / 2)] };
        },
    };

    public static TheoryData<string> EditNames => [.. Edits.Keys];

    private static void EditTokens(List<GgufMetadata> m, Action<string[]> edit)
    {
        var tokens = (string[])m.Get<string[]>(GgufFormat.KeyTokens).Clone();
        edit(tokens);
        m.Set(GgufFormat.KeyTokens, GgufValueType.Array, tokens, GgufValueType.String);
    }

    [Theory]
    [MemberData(nameof(EditNames))]
    public void VerifySucceedsExactlyOnTheFilesThatLoad(string edit)
    {
        using var tmp = new TempDir();
        var packed = WeightsTool.Pack(MiniCheckpoint.Create(tmp.Path), tmp.File("mini.gguf"));
        var path = tmp.File("edited.gguf");
        TestGguf.Rewrite(packed, path, (m, t) => Edits[edit](m, t));

        var load = Record.Exception(() => XlmModel.Load(path, new XlmModelOptions { Threads = 1 }).Dispose());
        var verify = WeightsTool.Run("verify", path);
        if (load is null)
        {
            Assert.True(verify.ExitCode == 0, $"{edit}: the file loads but verify says {verify.Stderr}");
            Assert.StartsWith("ok: ", verify.Stdout);
            return;
        }
        Assert.IsType<ModelFileException>(load);
        string error = verify.SingleError();
        Assert.Single(verify.StderrLines);
        // the same finding, in the same words
        Assert.Equal("error: " + load.Message, error);
    }

    [Fact]
    public void OnlyTheUnchangedAndTheHarmlessEditsLoad()
    {
        using var tmp = new TempDir();
        var packed = WeightsTool.Pack(MiniCheckpoint.Create(tmp.Path), tmp.File("mini.gguf"));
        var loads = new List<string>();
        foreach (var (name, edit) in Edits)
        {
            var path = tmp.File("edited.gguf");
            TestGguf.Rewrite(packed, path, (m, t) => edit(m, t));
            if (Record.Exception(() => XlmModel.Load(path, new XlmModelOptions { Threads = 1 }).Dispose()) is null)
                loads.Add(name);
        }
        Assert.Equal(["as packed", "another name and an unknown key", "packed before the conventional keys", "causal"], loads);
    }

    [Theory]
    [InlineData(1u << 20)]
    [InlineData(1u << 24)]
    public void AHugeBlockCountIsRefusedBeforeAnythingIsAllocatedForIt(uint blocks)
    {
        using var tmp = new TempDir();
        var packed = WeightsTool.Pack(MiniCheckpoint.Create(tmp.Path), tmp.File("mini.gguf"));
        TestGguf.Rewrite(packed, tmp.File("huge.gguf"), (m, _) => m.Set(GgufFormat.KeyBlockCount, GgufValueType.UInt32, blocks));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = WeightsTool.Run("verify", tmp.File("huge.gguf")).SingleError();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains($"'{GgufFormat.KeyBlockCount}' {blocks} is outside 1 to 1024", error);
        // the file is 23 KB: reading it whole costs less than this; a per-block table would cost far more
        Assert.True(allocated < 4 << 20, $"verify allocated {allocated} bytes");
    }

    private static string PackError(TempDir tmp, Action<string> editCheckpoint)
    {
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        editCheckpoint(dir);
        string error = WeightsTool.Run("pack", dir, "-o", tmp.File("out.gguf")).SingleError();
        Assert.False(File.Exists(tmp.File("out.gguf")), "pack wrote a file after refusing");
        return error;
    }

    private static void Replace(string dir, string file, string find, string replace)
    {
        string path = Path.Combine(dir, file);
        string text = File.ReadAllText(path);
        Assert.Contains(find, text);
        File.WriteAllText(path, text.Replace(find, replace));
    }

    [Theory]
    [InlineData("\"mask_index\": 5", "\"mask_index\": 0", "mask_index 0 is '<s>'; the vocabulary's <special1> is id 5")]
    [InlineData("\"bos_index\": 0", "\"bos_index\": 4", "bos_index 4 is '<special0>'; the vocabulary's <s> is id 0")]
    [InlineData("\"gelu_activation\": true", "\"gelu_activation\": false", "only GELU XLM checkpoints are supported")]
    [InlineData("\"layer_norm_eps\": 1e-12", "\"layer_norm_eps\": 1e-50", "layer_norm_eps 1E-50 is not in (0, 1) as an fp32 value")]
    [InlineData("\"n_layers\": 2", "\"n_layers\": 1048576", "n_layers 1048576 is outside 1 to 1024")]
    public void PackRefusesAConfigTheRuntimeCannotRun(string find, string replace, string reason)
    {
        using var tmp = new TempDir();
        Assert.Contains(reason, PackError(tmp, dir => Replace(dir, "config.json", find, replace)));
    }

    [Theory]
    [InlineData("{\"en us\": 0, \"fr\": 1}", "language name 'en us' is not 1 to 32 ASCII letters, digits, '-' or '_'")]
    [InlineData("{\"\": 0, \"fr\": 1}", "language name '' is not")]
    [InlineData("{\"en\": 0, \"fr\\n\": 1}", "language name 'fr\\u000a' is not")]
    public void PackRefusesOddLanguageNames(string lang2id, string reason)
    {
        using var tmp = new TempDir();
        Assert.Contains(reason, PackError(tmp, dir =>
        {
            Replace(dir, "config.json", "\"lang2id\": {\n    \"en\": 0,\n    \"fr\": 1\n  }", "\"lang2id\": " + lang2id);
            Replace(dir, "config.json", "\"id2lang\"", "\"unused_id2lang\"");
            File.Delete(Path.Combine(dir, "tokenizer_config.json"));
        }));
    }

    [Theory]
    [InlineData("\"<special1>\": 5", "\"<special-one>\": 5", "'<special1>'")]
    [InlineData("\"<s>\": 0", "\"<start>\": 0", "'<s>'")]
    public void PackRefusesAVocabularyWithoutASpecialToken(string find, string replace, string named)
    {
        using var tmp = new TempDir();
        Assert.Contains(named, PackError(tmp, dir => Replace(dir, "vocab.json", find, replace)));
    }
}
