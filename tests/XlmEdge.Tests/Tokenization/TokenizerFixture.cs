using System.Text.Json;
using XlmEdge.Tokenization;

namespace XlmEdge.Tests.Tokenization;

/// <summary>The tiny-enfr tokenizer and the tokenizer goldens, loaded once per test run.</summary>
internal static class TokenizerFixture
{
    private static readonly Lazy<XlmTokenizer> s_tokenizer = new(() => XlmTokenizer.FromHfFiles(
        Path.Combine(Fixtures.TinyEnfr, "vocab.json"),
        Path.Combine(Fixtures.TinyEnfr, "merges.txt"),
        ["en", "fr"],
        lowercase: true));

    private static readonly Lazy<string[]> s_goldenLines = new(() => File.ReadAllLines(Fixtures.TokenizerGoldens));

    public static XlmTokenizer Tokenizer => s_tokenizer.Value;

    public static int GoldenCount => s_goldenLines.Value.Length;

    /// <summary>Golden line <paramref name="lineNumber"/> (1-based, as an editor shows it).</summary>
    public static JsonElement Golden(int lineNumber)
    {
        using var document = JsonDocument.Parse(s_goldenLines.Value[lineNumber - 1]);
        return document.RootElement.Clone();
    }

    /// <summary>One theory case per golden line: the line number and its category, so a failure names the line.</summary>
    public static IEnumerable<object[]> GoldenCases()
    {
        var lines = s_goldenLines.Value;
        for (int i = 0; i < lines.Length; i++)
        {
            using var document = JsonDocument.Parse(lines[i]);
            yield return [i + 1, document.RootElement.GetProperty("category").GetString()!];
        }
    }

    public static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    public static int[] Ints(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];
}
