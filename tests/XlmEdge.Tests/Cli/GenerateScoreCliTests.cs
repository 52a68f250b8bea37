using System.Text.Json;
using XlmEdge.Tests.Model;

namespace XlmEdge.Tests.Cli;

/// <summary>
/// <c>xlmedge generate</c> and <c>xlmedge score</c>: the library's results in both output modes,
/// scores against tiny-clm-enfr's goldens, seeded runs, and the error contract (a model of the other
/// kind, bad sampling options, bad lines).
/// </summary>
public sealed class GenerateScoreCliTests
{
    private static readonly Lazy<XlmModel> Clm = new(() => XlmModel.Load(TestModels.TinyClmEnfrPath));

    [Fact]
    public void ScoreJsonLinesMatchTheGoldens()
    {
        var cases = CausalGoldens.Load("xlm-family/tiny-clm-enfr").Cases;
        var input = string.Join('\n', cases.Select(g => JsonSerializer.Serialize(new Dictionary<string, string> { ["text"] = g.Text!, ["lang"] = g.Lang })));
        var r = CliRunner.Run(input, "score", "-m", TestModels.TinyClmEnfrPath);
        Assert.Equal(0, r.Exit);
        Assert.Equal(cases.Length, r.Lines.Length);
        for (int i = 0; i < cases.Length; i++)
        {
            var golden = cases[i];
            using var doc = JsonDocument.Parse(r.Lines[i]);
            var root = doc.RootElement;
            Assert.Equal(golden.InputIds, root.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(golden.Tokens, root.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()));
            var logProbs = root.GetProperty("token_log_probs").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.Equal(golden.InputIds.Length - 1, logProbs.Length);
            double sum = 0;
            for (int p = 0; p < logProbs.Length; p++)
            {
                var row = golden.Logits[p];
                double max = row.Max(), expected = row[golden.InputIds[p + 1]] - max - Math.Log(row.Sum(l => Math.Exp(l - max)));
                Assert.True(Math.Abs(logProbs[p] - expected) <= 2e-4, $"{golden.Id} position {p}: {logProbs[p]} vs {expected}");
                sum += expected;
            }
            double logLikelihood = root.GetProperty("log_likelihood").GetDouble();
            Assert.True(Math.Abs(logLikelihood - sum) <= 2e-4 * logProbs.Length, $"{golden.Id}: {logLikelihood} vs {sum}");
            Assert.Equal(Math.Exp(-logLikelihood / logProbs.Length), root.GetProperty("perplexity").GetDouble(), 9);
        }
    }

    [Fact]
    public void GenerateJsonLinesAreTheLibrarysResultsForTextsAndIds()
    {
        var model = Clm.Value;
        var r = CliRunner.Run("{\"text\":\"The cat slept on the\"}\n{\"input_ids\":[0,15,16],\"lang\":\"fr\"}\n",
            "generate", "-m", TestModels.TinyClmEnfrPath, "-n", "6");
        Assert.Equal(0, r.Exit);
        Assert.Equal(2, r.Lines.Length);
        Assert.Equal(model.Generate("The cat slept on the", "en", 6).ToJson(), r.Lines[0]);
        Assert.Equal(model.GenerateIds([0, 15, 16], 1, 6).ToJson(), r.Lines[1]);
        using var doc = JsonDocument.Parse(r.Lines[0]);
        Assert.InRange(doc.RootElement.GetProperty("generated_ids").GetArrayLength(), 1, 6);
    }

    [Fact]
    public void SeededSamplingIsReproducibleAndTheOptionsReachTheSampler()
    {
        string[] sampled = ["generate", "-m", TestModels.TinyClmEnfrPath, "-l", "fr", "-n", "12", "--temperature", "0.8", "-k", "30", "--top-p", "0.9", "--seed", "7"];
        var first = CliRunner.Run("", [.. sampled, "le chat"]);
        var again = CliRunner.Run("", [.. sampled, "le chat"]);
        Assert.Equal(0, first.Exit);
        Assert.Equal(first.Stdout, again.Stdout);
        var expected = Clm.Value.Generate("le chat", "fr", 12, new SamplingOptions { Temperature = 0.8f, TopK = 30, TopP = 0.9f, Seed = 7 });
        Assert.Equal(expected.Sequence, first.Lines[0]);
        Assert.Equal($"({expected.GeneratedIds.Count} new tokens; stopped: {(expected.StopReason == GenerationStopReason.MaxTokens ? "--max-tokens reached" : "the model wrote </s>")})", first.Lines[1]);
        var otherSeed = CliRunner.Run("", [.. sampled[..^1], "8", "le chat"]);
        Assert.NotEqual(first.Lines[0], otherSeed.Lines[0]);
    }

    [Fact]
    public void HumanScoreShowsTheTotalsAndEveryPredictedToken()
    {
        var score = Clm.Value.Score("the cat sat .", "en");
        var r = CliRunner.Run("", "score", "-m", TestModels.TinyClmEnfrPath, "the cat sat .");
        Assert.Equal(0, r.Exit);
        Assert.Equal(1 + score.TokenLogProbabilities.Count, r.Lines.Length);
        Assert.Contains(score.LogLikelihood.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture), r.Lines[0]);
        Assert.Contains(score.Perplexity.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture), r.Lines[0]);
        Assert.StartsWith("  </s>", r.Lines[^1]);
    }

    [Fact]
    public void AModelOfTheOtherKindIsOneErrorLineInBothModes()
    {
        foreach (var stdin in new[] { "", "{\"text\":\"a\"}\n{\"text\":\"b\"}\n" })
        {
            string[] text = stdin == "" ? ["the cat"] : [];
            foreach (var command in new[] { "generate", "score" })
            {
                var r = CliRunner.Run(stdin, [command, "-m", TestModels.TinyEnfrPath, .. text]);
                Assert.Contains("is a masked language model (xlm-mlm-*)", CliRunner.AssertOneError(r));
                Assert.Equal("", r.Stdout);
            }
            var fill = CliRunner.Run(stdin, ["fill-mask", "-m", TestModels.TinyClmEnfrPath, .. (stdin == "" ? new[] { "the <special1>" } : [])]);
            Assert.Contains("is a causal language model (xlm-clm-*)", CliRunner.AssertOneError(fill));
            Assert.Equal("", fill.Stdout);
        }
    }

    [Theory]
    [InlineData("--temperature", "NaN", "temperature")]
    [InlineData("--temperature", "Infinity", "temperature")]
    [InlineData("--top-p", "1.5", "top-p")]
    [InlineData("--top-p", "0", "top-p")]
    public void OutOfRangeSamplingIsBadInput(string option, string value, string named)
    {
        var r = CliRunner.Run("{\"text\":\"a\"}", "generate", "-m", TestModels.TinyClmEnfrPath, option, value);
        Assert.Contains(named, CliRunner.AssertOneError(r));
        Assert.Equal("", r.Stdout);
    }

    [Theory]
    [InlineData("--top-p", "abc")]
    [InlineData("--seed", "-1")]
    [InlineData("-k", "x")]
    [InlineData("-n", "0")]
    [InlineData("--temperature", "warm")]
    public void MalformedNumbersAreUsageErrorsNamedPlainly(string option, string value)
    {
        string line = CliRunner.AssertOneError(CliRunner.Run("", "generate", "-m", TestModels.TinyClmEnfrPath, option, value, "a"), exit: 2);
        Assert.DoesNotContain("System.", line);
    }

    [Fact]
    public void BadLinesAreAnsweredAndLaterLinesStillRun()
    {
        string input = "{\"text\":\"a\",\"targets\":[\"b\"]}\nnot json\n{\"text\":\"a\",\"lang\":\"de\"}\n{\"input_ids\":[0]}\n{\"input_ids\":[0,99999]}\n{\"text\":\"the cat\"}\n";
        var score = CliRunner.Run(input, "score", "-m", TestModels.TinyClmEnfrPath);
        Assert.Equal(1, score.Exit);
        Assert.Equal(6, score.Lines.Length);
        for (int i = 0; i < 5; i++)
        {
            using var doc = JsonDocument.Parse(score.Lines[i]);
            Assert.StartsWith($"line {i + 1}: ", doc.RootElement.GetProperty("error").GetString());
        }
        Assert.Equal(Clm.Value.Score("the cat", "en").ToJson(), score.Lines[5]);

        var generate = CliRunner.Run(input, "generate", "-m", TestModels.TinyClmEnfrPath, "-n", "2");
        Assert.Equal(1, generate.Exit);
        Assert.Equal(6, generate.Lines.Length);
        Assert.Contains("line 1: \\\"targets\\\" is a fill-mask field", generate.Lines[0]);
        Assert.Contains("\"generated_text\"", generate.Lines[3]);  // <s> alone is a prompt
        Assert.Contains("\"error\"", generate.Lines[4]);
        Assert.Contains("\"generated_text\"", generate.Lines[5]);
    }
}
