using XlmEdge.Tests.Cli;
using XlmEdge.Tests.Weights;
using Tool = XlmEdge.Tests.Weights.WeightsTool;

namespace XlmEdge.Tests.Model;

/// <summary>
/// XLM configurations no fixture has, as random checkpoints packed by the weights tool and run by
/// the runtime: 1 to 100 languages (named or not), with and without language embeddings, causal
/// or not, d up to 2048. The numbers are checked by the goldens of the fixtures; here, that each
/// configuration packs, loads with the languages and switches of its config, and runs.
/// </summary>
public sealed class ConfigurationMatrixTests : IDisposable
{
    private static readonly string[] Xnli15 = ["ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"];
    private static readonly string[] Seventeen = ["ar", "de", "en", "es", "fr", "hi", "it", "ja", "ko", "nl", "pl", "pt", "ru", "sv", "tr", "vi", "zh"];
    private static readonly string[] Hundred =
    [
        "af", "als", "am", "an", "ang", "ar", "arz", "ast", "az", "bar", "be", "bg", "bn", "br", "bs", "ca", "ceb", "ckb", "cs", "cy",
        "da", "de", "el", "en", "eo", "es", "et", "eu", "fa", "fi", "fr", "fy", "ga", "gan", "gl", "gu", "he", "hi", "hr", "hu",
        "hy", "ia", "id", "is", "it", "ja", "jv", "ka", "kk", "kn", "ko", "ku", "la", "lb", "lt", "lv", "mk", "ml", "mn", "mr",
        "ms", "my", "nds", "ne", "nl", "nn", "no", "oc", "pl", "pt", "ro", "ru", "scn", "sco", "sh", "si", "simple", "sk", "sl", "sq",
        "sr", "sv", "sw", "ta", "te", "th", "tl", "tr", "tt", "uk", "ur", "uz", "vi", "war", "wuu", "yi", "zh", "zh_classical", "zh_min_nan", "zh_yue",
    ];

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, int, int, int, int, bool, bool> Configurations() => new()
    {
        // name, d, heads, layers, languages, language embeddings, causal
        { "one unnamed language", 32, 4, 1, 1, true, false },
        { "two languages without language embeddings", 48, 3, 2, 2, false, false },
        { "xnli15 with language embeddings", 32, 2, 1, 15, true, false },
        { "17 languages without language embeddings", 40, 5, 1, 17, false, false },
        { "100 languages without language embeddings", 40, 5, 1, 100, false, false },
        { "100 languages with language embeddings", 24, 3, 1, 100, true, false },
        { "causal, two languages", 32, 4, 2, 2, true, true },
        { "causal, one unnamed language", 16, 2, 1, 1, true, true },
        { "d 2048, 16 heads", 2048, 16, 1, 1, true, false },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void PacksLoadsWithItsConfigAndRuns(string name, int d, int heads, int layers, int languageCount, bool languageEmbeddings, bool causal)
    {
        var geometry = new XlmGeometry(1786, d, layers, heads, languageCount, languageEmbeddings, 64, 1e-12f, causal);
        string[]? names = languageCount switch { 1 => null, 2 => ["de", "en"], 15 => Xnli15, 17 => Seventeen, _ => Hundred };
        string checkpoint = RandomCheckpoint.Create(_dir.Path, "random", geometry, names, writeCausal: causal, seed: d + languageCount);
        string packed = Tool.Pack(checkpoint, _dir.File("model.gguf"));

        using var model = XlmModel.Load(packed);
        Assert.Equal(names ?? ["en"], model.Config.Languages);
        Assert.Equal(geometry, model.Config.Geometry);
        Assert.Equal(languageEmbeddings && languageCount > 1, model.Config.Geometry.UsesLanguageEmbeddings);
        Assert.Equal(causal, model.IsCausal);

        // The first and the last language (never zh, th or ja: those are refused, below).
        var languages = model.Config.Languages.Where(l => l is not ("zh" or "th" or "ja")).ToArray();
        string first = languages[0], last = languages[^1];
        if (causal)
        {
            var generated = model.Generate("the cat", first, 4, new SamplingOptions { Temperature = 1, Seed = 1 });
            Assert.InRange(generated.GeneratedIds.Count, 1, 4);
            var score = model.Score("the cat sat", last);
            Assert.True(double.IsFinite(score.Perplexity) && score.Perplexity >= 1, $"{name}: perplexity {score.Perplexity}");
        }
        else
        {
            var filled = model.FillMask("the <special1> sat", last);
            Assert.Equal(5, filled.Masks.Single().Candidates.Count);
            Assert.All(filled.Masks[0].Candidates, c => Assert.True(double.IsFinite(c.Probability)));
        }

        // The language id reaches the model only through the language embeddings.
        var a = model.Encode("the cat sat", first).HiddenStates;
        var b = model.Encode("the cat sat", last).HiddenStates;
        Assert.Equal(model.Config.Geometry.UsesLanguageEmbeddings, !a.AsSpan().SequenceEqual(b));
    }

    [Fact]
    public void LanguagesTheModelHasButTheTokenizerRefusesAreOneErrorLine()
    {
        var geometry = new XlmGeometry(1786, 32, 2, 1, 15, true, 64, 1e-12f, false);
        string packed = Tool.Pack(RandomCheckpoint.Create(_dir.Path, "xnli", geometry, Xnli15, false, 3), _dir.File("xnli.gguf"));

        foreach (var (language, tool) in new[] { ("zh", "jieba"), ("th", "PyThaiNLP") })
        {
            var line = CliRunner.AssertOneError(CliRunner.Run("", "fill-mask", "-m", packed, "--lang", language, "你好 <special1>"));
            Assert.StartsWith($"error: unsupported language '{language}': ", line);
            Assert.Contains(tool, line, StringComparison.Ordinal);
        }
        // Their ids still run: a caller that segments the text itself passes token ids.
        using var model = XlmModel.Load(packed);
        Assert.Single(model.FillMaskIds([0, 15, 5, 1], model.Tokenizer.LanguageIdOf("zh")).Masks);
    }

    [Fact]
    public void CausalFlagOfThePackCommandMakesACausalModelOfAConfigThatDoesNotSaySo()
    {
        var geometry = new XlmGeometry(1786, 16, 2, 1, 2, true, 64, 1e-12f, isCausal: true);
        string checkpoint = RandomCheckpoint.Create(_dir.Path, "clm", geometry, ["en", "fr"], writeCausal: false, seed: 4);

        var plain = Tool.Run("pack", checkpoint, "-o", _dir.File("mlm.gguf"));
        var flagged = Tool.Run("pack", checkpoint, "-o", _dir.File("clm.gguf"), "--causal");

        Assert.Equal(0, plain.ExitCode);
        Assert.Equal(0, flagged.ExitCode);
        Assert.Contains("--causal", flagged.Stderr, StringComparison.Ordinal);
        using var mlm = XlmModel.Load(_dir.File("mlm.gguf"));
        using var clm = XlmModel.Load(_dir.File("clm.gguf"));
        Assert.False(mlm.IsCausal);
        Assert.True(clm.IsCausal);
        Assert.NotEmpty(clm.Generate("le chat", "fr", 2).GeneratedIds);
    }

    [Fact]
    public void LanguageIdsOfConfigAndTokenizerConfigMustAgree()
    {
        var geometry = new XlmGeometry(1786, 16, 2, 1, 2, true, 64, 1e-12f, false);
        string checkpoint = RandomCheckpoint.Create(_dir.Path, "swapped", geometry, ["de", "en"], false, 6);
        File.WriteAllText(Path.Combine(checkpoint, "tokenizer_config.json"), "{\"do_lowercase_and_remove_accent\": true, \"lang2id\": {\"en\": 0, \"de\": 1}}");
        var r = Tool.Run("pack", checkpoint, "-o", _dir.File("x.gguf"));
        Assert.Contains("different ids", r.SingleError(), StringComparison.Ordinal);

        // Names in tokenizer_config.json only are read from there, ids and all.
        File.WriteAllText(Path.Combine(checkpoint, "config.json"), File.ReadAllText(Path.Combine(checkpoint, "config.json"))
            .Replace(",\"lang2id\":{\"de\":0,\"en\":1},\"id2lang\":{\"0\":\"de\",\"1\":\"en\"}", "", StringComparison.Ordinal));
        Tool.Pack(checkpoint, _dir.File("y.gguf"));
        using var model = XlmModel.Load(_dir.File("y.gguf"));
        Assert.Equal(["en", "de"], model.Config.Languages);
    }

    [Fact]
    public void SeveralLanguagesWithoutNamesAreRefused()
    {
        var geometry = new XlmGeometry(1786, 16, 2, 1, 3, true, 64, 1e-12f, false);
        var r = Tool.Run("pack", RandomCheckpoint.Create(_dir.Path, "unnamed", geometry, null, false, 5), "-o", _dir.File("x.gguf"));
        Assert.Contains("3 languages cannot be named", r.SingleError(), StringComparison.Ordinal);
    }
}
