using System.Text.Json;

namespace XlmEdge.Tests.Cli;

/// <summary>The consoles' surface: --version, --help per command, HF-shaped results, --targets, top-k past the vocabulary.</summary>
public sealed class ConsoleSurfaceTests
{
    [Fact]
    public void VersionIsTheLibraryVersionInBothConsoles()
    {
        Assert.Matches(@"^\d+\.\d+\.\d+$", XlmRuntime.Version);
        var r = CliRunner.Run("", "--version");
        Assert.Equal(0, r.Exit);
        Assert.Equal(XlmRuntime.Version, r.Stdout.Trim());
        var stdout = new StringWriter();
        Assert.Equal(0, XlmEdge.WeightsTool.Program.Run(["--version"], stdout, TextWriter.Null));
        Assert.Equal(XlmRuntime.Version, stdout.ToString().Trim());
    }

    [Fact]
    public void TheVersionComesFromTheCHeader()
    {
        string header = File.ReadAllText(Path.Combine(Fixtures.Root, "..", "..", "src", "XlmEdge.Native", "include", "xlmedge.h"));
        string Macro(string name) => System.Text.RegularExpressions.Regex.Match(header, $@"#define XLMEDGE_VERSION_{name} (\d+)").Groups[1].Value;
        Assert.Equal($"{Macro("MAJOR")}.{Macro("MINOR")}.{Macro("PATCH")}", XlmRuntime.Version);
    }

    [Theory]
    [InlineData("fill-mask", "-m, --model", "-k, --top-k", "--targets", "-t, --threads")]
    [InlineData("tokenize", "-m, --model", "-l, --lang")]
    [InlineData("generate", "-m, --model", "-l, --lang", "-n, --max-tokens", "--temperature", "-k, --top-k", "--top-p", "--seed", "-t, --threads")]
    [InlineData("score", "-m, --model", "-l, --lang", "-t, --threads")]
    public void EveryCommandHasHelpWithShortFlagsAndExitCodes(string command, params string[] flags)
    {
        foreach (var help in new[] { "--help", "-h" })
        {
            var r = CliRunner.Run("", command, help);
            Assert.Equal(0, r.Exit);
            Assert.Equal("", r.Stderr);
            Assert.Contains($"xlmedge {command}", r.Stdout);
            Assert.Contains("Exit codes:", r.Stdout);
            foreach (var flag in flags)
                Assert.Contains(flag, r.Stdout);
        }
        var stdout = new StringWriter();
        Assert.Equal(0, XlmEdge.WeightsTool.Program.Run(["verify", "--help"], stdout, TextWriter.Null));
        Assert.Contains("Exit codes:", stdout.ToString());
    }

    [Fact]
    public void JsonCandidatesCarryTheNamesOfHuggingFacesPipeline()
    {
        var r = CliRunner.Run("{\"text\":\"the capital of france is <special1> .\"}", "fill-mask", "-m", TestModels.TinyEnfrPath);
        Assert.Equal(0, r.Exit);
        using var doc = JsonDocument.Parse(r.Lines.Single());
        using var model = XlmModel.Load(TestModels.TinyEnfrPath);
        foreach (var c in doc.RootElement.GetProperty("masks")[0].GetProperty("candidates").EnumerateArray())
        {
            Assert.Equal(["score", "token", "token_str", "sequence", "logit"], c.EnumerateObject().Select(p => p.Name));
            int id = c.GetProperty("token").GetInt32();
            string tokenStr = c.GetProperty("token_str").GetString()!;
            Assert.DoesNotContain("</w>", tokenStr);
            Assert.Equal(model.Tokenizer.TokenOf(id).Replace("</w>", ""), tokenStr);
            Assert.Contains(tokenStr, c.GetProperty("sequence").GetString());
            Assert.InRange(c.GetProperty("score").GetDouble(), 0, 1);
        }
    }

    [Fact]
    public void HumanOutputShowsDecodedWordsNotBpeUnits()
    {
        var r = CliRunner.Run("", "fill-mask", "-m", TestModels.TinyEnfrPath, "the capital of france is <special1> .");
        Assert.Equal(0, r.Exit);
        Assert.DoesNotContain("</w>", r.Stdout);
    }

    [Fact]
    public void TopKBeyondTheVocabularyGivesTheWholeVocabulary()
    {
        using var model = XlmModel.Load(TestModels.TinyEnfrPath);
        int v = model.Config.Geometry.VocabularySize;
        var r = CliRunner.Run("{\"text\":\"a <special1> b\"}", "fill-mask", "-m", TestModels.TinyEnfrPath, "--top-k", "1000000");
        Assert.Equal(0, r.Exit);
        using var doc = JsonDocument.Parse(r.Lines.Single());
        var candidates = doc.RootElement.GetProperty("masks")[0].GetProperty("candidates");
        Assert.Equal(v, candidates.GetArrayLength());
        Assert.Equal(v, candidates.EnumerateArray().Select(c => c.GetProperty("token").GetInt32()).Distinct().Count());
        Assert.Equal(1.0, candidates.EnumerateArray().Sum(c => c.GetProperty("score").GetDouble()), 1e-6);
        Assert.Equal(v, model.FillMask("a <special1> b", "en", int.MaxValue).Masks[0].Candidates.Count);
    }

    [Fact]
    public void TargetsScoreOnlyTheGivenWordsWithTheirFullVocabularyScores()
    {
        using var model = XlmModel.Load(TestModels.TinyEnfrPath);
        var all = model.FillMask("the capital of france is <special1> .", "en", model.Config.Geometry.VocabularySize).Masks[0].Candidates;
        string[] words = ["paris", "london", "the", "paris"];
        var r = CliRunner.Run("", "fill-mask", "-m", TestModels.TinyEnfrPath, "--targets", "paris,london", "--targets", "the,paris", "-k", "10",
            "the capital of france is <special1> .");
        Assert.Equal(0, r.Exit);
        var result = model.FillMask([new FillMaskInput("the capital of france is <special1> .", "en") { Targets = words }], 10)[0];
        var got = result.Masks[0].Candidates;
        var ids = words.Distinct().Select(w => model.Tokenizer.Encode(w, "en").Ids[1]).ToHashSet();
        Assert.Equal(ids, got.Select(c => c.Id).ToHashSet());
        Assert.Equal(got.OrderByDescending(c => c.Logit).Select(c => c.Id), got.Select(c => c.Id));
        foreach (var c in got)
        {
            var full = all.Single(a => a.Id == c.Id);
            Assert.Equal(full.Probability, c.Probability, 12);
            Assert.Equal(full.Logit, c.Logit);
            Assert.Contains($" {c.TokenString} ", r.Stdout);
        }
        Assert.Single(model.FillMask([new FillMaskInput("a <special1>", "en") { Targets = words }], 1)[0].Masks[0].Candidates);

        var json = CliRunner.Run("{\"text\":\"a <special1>\",\"targets\":[\"paris\"]}", "fill-mask", "-m", TestModels.TinyEnfrPath);
        using var doc = JsonDocument.Parse(json.Lines.Single());
        Assert.Equal(model.Tokenizer.Encode("paris", "en").Ids[1], doc.RootElement.GetProperty("masks")[0].GetProperty("candidates").EnumerateArray().Single().GetProperty("token").GetInt32());
    }

    [Fact]
    public void ATokenizerLoadsAloneAndAgreesWithTheModels()
    {
        var tokenizer = XlmEdge.Tokenization.XlmTokenizer.Load(TestModels.TinyEnfrPath);
        using var model = XlmModel.Load(TestModels.TinyEnfrPath);
        Assert.Equal(model.Tokenizer.Encode("l'homme est là", "fr").Ids, tokenizer.Encode("l'homme est là", "fr").Ids);
        Assert.True(tokenizer.TryGetId("<special1>", out int mask));
        Assert.Equal(model.Config.MaskId, mask);
        Assert.False(tokenizer.TryGetId("no such token", out _));
        Assert.Throws<FileNotFoundException>(() => XlmEdge.Tokenization.XlmTokenizer.Load("/nonexistent.gguf"));
    }

    [Fact]
    public void AnOptionLikeTextIsAUsageErrorUnlessAfterDoubleDash()
    {
        CliRunner.AssertOneError(CliRunner.Run("", "fill-mask", "-m", TestModels.TinyEnfrPath, "--bogus"), exit: 2);
        Assert.Equal(0, CliRunner.Run("", "fill-mask", "-m", TestModels.TinyEnfrPath, "--", "-5 <special1> .").Exit);
    }

    [Theory]
    [InlineData("fill-mask", "--top-k", "0")]
    [InlineData("fill-mask", "-k", "-3")]
    [InlineData("fill-mask", "--threads", "many")]
    public void BadNumbersAreNamedPlainly(params string[] args)
    {
        string line = CliRunner.AssertOneError(CliRunner.Run("", [.. args, "a <special1>"]), exit: 2);
        Assert.Contains("needs a whole number of at least 1", line);
        Assert.DoesNotContain("System.", line);
    }
}
