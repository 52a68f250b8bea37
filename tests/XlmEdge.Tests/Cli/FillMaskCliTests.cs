using System.Text.Json;
using XlmEdge.Tests.Model;

namespace XlmEdge.Tests.Cli;

/// <summary><c>xlmedge fill-mask</c> and <c>xlmedge tokenize</c> against the goldens and the error contract.</summary>
public sealed class FillMaskCliTests
{
    [Fact]
    public void JsonLinesOfTextMatchTheGoldens()
    {
        var goldens = Goldens.Load("tiny-enfr").Cases;
        var input = string.Join('\n', goldens.Select(g => JsonSerializer.Serialize(new Dictionary<string, string> { ["text"] = g.Text!, ["lang"] = g.Lang })));
        var r = CliRunner.Run(input, "fill-mask", "-m", TestModels.TinyEnfrPath);
        Assert.Equal(0, r.Exit);
        Assert.Equal(goldens.Length, r.Lines.Length);
        for (int i = 0; i < goldens.Length; i++)
            AssertMatches(goldens[i], r.Lines[i], exactOrder: true);
    }

    [Fact]
    public void JsonLinesOfIdsMatchTheOtherGeometryGoldens()
    {
        var goldens = Goldens.Load("other-geometry").Cases;
        var input = string.Join('\n', goldens.Select(g => $"{{\"input_ids\":[{string.Join(',', g.InputIds)}],\"lang\":\"{g.Lang}\"}}"));
        var r = CliRunner.Run(input, "fill-mask", "-m", TestModels.OtherGeometryPath, "--top-k", "5");
        Assert.Equal(0, r.Exit);
        Assert.Equal(goldens.Length, r.Lines.Length);
        for (int i = 0; i < goldens.Length; i++)
            AssertMatches(goldens[i], r.Lines[i], exactOrder: false);
    }

    private static void AssertMatches(GoldenCase golden, string line, bool exactOrder)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        Assert.Equal(golden.InputIds, root.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(golden.Tokens, root.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()));
        var masks = root.GetProperty("masks").EnumerateArray().ToArray();
        Assert.Equal(golden.MaskPositions, masks.Select(m => m.GetProperty("position").GetInt32()));
        for (int m = 0; m < masks.Length; m++)
        {
            var candidates = masks[m].GetProperty("candidates").EnumerateArray().ToArray();
            Assert.Equal(5, candidates.Length);
            for (int r = 0; r < 5; r++)
            {
                int id = candidates[r].GetProperty("token").GetInt32();
                if (exactOrder)
                    Assert.Equal(golden.Masks[m].Top5[r].Id, id);
                Assert.True(Math.Abs(candidates[r].GetProperty("logit").GetSingle() - golden.Masks[m].Logits[id]) <= 1e-4f,
                    $"{golden.Id} mask {m} rank {r}: logit of {id}");
                Assert.True(Math.Abs(golden.Masks[m].Logits[id] - golden.Masks[m].Top5[r].Logit) <= 1e-4f,
                    $"{golden.Id} mask {m} rank {r}: {id} is not the golden rank-{r} candidate");
            }
        }
    }

    [Fact]
    public void HumanOutputNamesEveryMaskAndCandidate()
    {
        var r = CliRunner.Run("", "fill-mask", "-m", TestModels.TinyEnfrPath, "--top-k", "3", "le <special1> est <special1> .", "--lang", "fr");
        Assert.Equal(0, r.Exit);
        Assert.Contains("mask at position 2:", r.Stdout);
        Assert.Contains("mask at position 4:", r.Stdout);
        Assert.Equal(2 * 3, r.Lines.Count(l => l.TrimStart().Length > 2 && char.IsDigit(l.TrimStart()[0])));
    }

    [Fact]
    public void BadLinesGetAnErrorObjectAndLaterLinesStillRun()
    {
        string input = string.Join('\n',
            "{\"text\":\"no mask here\"}",
            "not json",
            "{\"text\":\"a <special1>\",\"lang\":\"de\"}",
            "{\"text\":\"\"}",
            "[1,2]",
            "{\"input_ids\":[0,5,99999,1]}",
            "{\"text\":\"the <special1> .\",\"lang\":\"en\"}");
        var r = CliRunner.Run(input, "fill-mask", "-m", TestModels.TinyEnfrPath);
        Assert.Equal(1, r.Exit);
        var lines = r.Lines;
        Assert.Equal(7, lines.Length);
        Assert.Contains("no mask token", Error(lines[0]));
        Assert.Contains("invalid", Error(lines[1]));
        Assert.Contains("unsupported language 'de'; this model has: en, fr", Error(lines[2]));
        Assert.Contains("no mask token", Error(lines[3]));
        Assert.Contains("JSON object", Error(lines[4]));
        Assert.Contains("outside the vocabulary", Error(lines[5]));
        using var last = JsonDocument.Parse(lines[6]);
        Assert.True(last.RootElement.TryGetProperty("masks", out _));
    }

    [Theory]
    [InlineData("fill-mask")]
    [InlineData("tokenize")]
    public void LoneSurrogatesAnswerAnErrorForTheirLineAndTheNextLinesRun(string command)
    {
        string input = string.Join('\n',
            "{\"text\":\"\\ud800 a <special1> b\"}",
            "{\"text\":\"a <special1> \\udc00\"}",
            "{\"text\":\"a <special1> b\",\"lang\":\"\\ud800\"}",
            "{\"\\ud800\":1,\"text\":\"a <special1> b\"}",
            "{\"text\":\"a <special1> b\"}");
        var r = CliRunner.Run(input, command, "-m", TestModels.TinyEnfrPath);
        Assert.Equal(1, r.Exit);
        Assert.Equal(5, r.Lines.Length);
        for (int i = 0; i < 4; i++)
        {
            string error = Error(r.Lines[i]);
            Assert.StartsWith($"line {i + 1}: ", error);
            Assert.Contains("unpaired UTF-16 surrogate", error);
        }
        using var last = JsonDocument.Parse(r.Lines[4]);
        Assert.False(last.RootElement.TryGetProperty("error", out _));
    }

    [Fact]
    public void ABadJsonLineNamesItsLineNumberCountingBlankLines()
    {
        var r = CliRunner.Run("{\"text\":\"a <special1>\"}\n\n{\"text\": oops}\r\n{\"text\":\"b <special1>\"}", "fill-mask", "-m", TestModels.TinyEnfrPath);
        Assert.Equal(1, r.Exit);
        Assert.Equal(3, r.Lines.Length);
        string error = Error(r.Lines[1]);
        Assert.StartsWith("line 3: not valid JSON", error);
        Assert.DoesNotContain("LineNumber", error);
        Assert.False(JsonDocument.Parse(r.Lines[2]).RootElement.TryGetProperty("error", out _));
    }

    [Fact]
    public void AnOverlongLineIsRefusedWithoutStoppingTheStream()
    {
        string huge = "{\"text\":\"" + new string('a', 6_004_096) + "\"}";
        var r = CliRunner.Run(huge + "\n{\"text\":\"a <special1>\"}", "fill-mask", "-m", TestModels.TinyEnfrPath);
        Assert.Equal(1, r.Exit);
        Assert.Equal(2, r.Lines.Length);
        Assert.StartsWith("line 1: the line is longer than", Error(r.Lines[0]));
        Assert.False(JsonDocument.Parse(r.Lines[1]).RootElement.TryGetProperty("error", out _));
    }

    private static string Error(string line)
    {
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.GetProperty("error").GetString()!;
    }

    [Fact]
    public void TooLongTextIsAnErrorNamingTheLimit()
    {
        string text = string.Join(' ', Enumerable.Repeat("the", 600)) + " <special1>";
        var line = CliRunner.AssertOneError(CliRunner.Run("", "fill-mask", "-m", TestModels.TinyEnfrPath, text));
        Assert.Contains("at most 512 tokens", line);
    }

    [Fact]
    public void TooManyMasksIsAnError()
    {
        string text = string.Join(' ', Enumerable.Repeat("<special1>", XlmModel.MaxMasksPerCall + 1));
        var line = CliRunner.AssertOneError(CliRunner.Run("", "fill-mask", "-m", TestModels.TinyEnfrPath, text));
        Assert.Contains($"at most {XlmModel.MaxMasksPerCall}", line);
    }

    [Fact]
    public void MissingOrBrokenModelFilesAreOneLineErrors()
    {
        Assert.Contains("not found", CliRunner.AssertOneError(CliRunner.Run("", "fill-mask", "-m", "/nonexistent/model.gguf", "a <special1>")));
        var dir = Directory.CreateTempSubdirectory("xlmedge-cli-").FullName;
        try
        {
            var bytes = File.ReadAllBytes(TestModels.TinyEnfrPath);
            string truncated = Path.Combine(dir, "truncated.gguf");
            File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
            Assert.Contains("runs past the end", CliRunner.AssertOneError(CliRunner.Run("", "fill-mask", "-m", truncated, "a <special1>")));

            // Same file, architecture string "xlm" rewritten as "gpt": another architecture.
            int at = bytes.AsSpan().IndexOf("general.architecture"u8) + "general.architecture"u8.Length + 4 + 8;
            Assert.Equal("xlm"u8.ToArray(), bytes[at..(at + 3)]);
            "gpt"u8.CopyTo(bytes.AsSpan(at));
            string other = Path.Combine(dir, "other-arch.gguf");
            File.WriteAllBytes(other, bytes);
            Assert.Contains("'gpt' model", CliRunner.AssertOneError(CliRunner.Run("", "fill-mask", "-m", other, "a <special1>")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("fill-mask", "--bogus")]
    [InlineData("fill-mask", "--top-k", "zero")]
    [InlineData("fill-mask", "-m")]
    [InlineData("tokenize", "--top-k", "3")]
    public void UsageMistakesExitWithTwo(params string[] args) =>
        CliRunner.AssertOneError(CliRunner.Run("", args), exit: 2);

    [Fact]
    public void TokenizeJsonLinesMatchTheTokenizerGoldens()
    {
        var lines = File.ReadAllLines(Fixtures.TokenizerGoldens);
        var input = string.Join('\n', lines.Select(l =>
        {
            using var doc = JsonDocument.Parse(l);
            return JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["text"] = doc.RootElement.GetProperty("text").GetString()!,
                ["lang"] = doc.RootElement.GetProperty("lang").GetString()!,
            });
        }));
        var r = CliRunner.Run(input, "tokenize", "-m", TestModels.TinyEnfrPath);
        Assert.Equal(0, r.Exit);
        var outLines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(lines.Length, outLines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            using var expected = JsonDocument.Parse(lines[i]);
            using var actual = JsonDocument.Parse(outLines[i]);
            Assert.Equal(
                expected.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()),
                actual.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(
                expected.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()),
                actual.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()));
        }
    }
}
