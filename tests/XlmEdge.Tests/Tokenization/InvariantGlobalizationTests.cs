using System.Diagnostics;
using System.Text;
using System.Text.Json;
using XlmEdge.Tokenization;

namespace XlmEdge.Tests.Tokenization;

/// <summary>
/// Tokens must not depend on ICU: the console in a child process with
/// <c>DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1</c> (what an app built with InvariantGlobalization, or a
/// device without libicu, runs with) must give every tokenizer golden's tokens and ids, and the same
/// tokens as this process (with ICU) for every code point that folding changes.
/// </summary>
public class InvariantGlobalizationTests
{
    [Fact]
    public void GoldensTokenizeTheSameWithoutIcu()
    {
        var goldens = Enumerable.Range(1, TokenizerFixture.GoldenCount(TokenizerFixture.EnFr)).Select(i => TokenizerFixture.Golden(TokenizerFixture.EnFr, i)).ToArray();
        var requests = goldens.Select(g => (g.GetProperty("text").GetString()!, g.GetProperty("lang").GetString()!)).ToArray();

        var answers = TokenizeWithoutIcu(requests);

        for (int i = 0; i < goldens.Length; i++)
        {
            Assert.Equal(TokenizerFixture.Strings(goldens[i].GetProperty("tokens")), TokenizerFixture.Strings(answers[i].GetProperty("tokens")));
            Assert.Equal(TokenizerFixture.Ints(goldens[i].GetProperty("ids")), TokenizerFixture.Ints(answers[i].GetProperty("ids")));
        }
    }

    [Fact]
    public void FoldedCodePointsTokenizeTheSameWithoutIcu()
    {
        // Every code point that lowercasing or accent folding changes, 40 to a text, each its own word.
        var changed = new List<string>();
        for (int cp = 0x80; cp <= 0x10FFFF; cp++)
        {
            if (cp is >= 0xD800 and <= 0xDFFF)
                continue;
            string s = char.ConvertFromUtf32(cp);
            if (AccentFolding.Fold(s) != s)
                changed.Add(s);
        }
        var requests = changed.Chunk(40).Select(words => (string.Join(' ', words), "fr")).ToArray();

        var answers = TokenizeWithoutIcu(requests);

        for (int i = 0; i < requests.Length; i++)
        {
            var expected = TokenizerFixture.Tokenizer.Encode(requests[i].Item1, "fr");
            Assert.Equal(expected.Tokens, TokenizerFixture.Strings(answers[i].GetProperty("tokens")));
            Assert.Equal(expected.Ids, TokenizerFixture.Ints(answers[i].GetProperty("ids")));
        }
    }

    /// <summary>Runs <c>xlmedge tokenize</c> (this build's XlmEdge.Cli.dll, on the tiny-enfr model) in invariant mode, one JSON line per text.</summary>
    private static JsonElement[] TokenizeWithoutIcu((string Text, string Language)[] requests)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var arg in new[] { "exec", Path.Combine(AppContext.BaseDirectory, "XlmEdge.Cli.dll"), "tokenize", "-m", TestModels.TinyEnfrPath })
            start.ArgumentList.Add(arg);
        start.Environment["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        foreach (var (text, language) in requests)
            process.StandardInput.WriteLine(JsonSerializer.Serialize(new Dictionary<string, string> { ["text"] = text, ["lang"] = language }));
        process.StandardInput.Close();
        Assert.True(process.WaitForExit(120_000), "xlmedge tokenize did not finish in 2 minutes");
        Assert.True(process.ExitCode == 0, $"xlmedge tokenize exited {process.ExitCode}: {stderr.Result}");
        var lines = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(requests.Length, lines.Length);
        return [.. lines.Select(line => JsonDocument.Parse(line).RootElement.Clone())];
    }
}
