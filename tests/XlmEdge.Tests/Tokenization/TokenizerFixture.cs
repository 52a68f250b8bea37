using System.Text.Json;
using XlmEdge.Tokenization;

namespace XlmEdge.Tests.Tokenization;

/// <summary>The fixture tokenizers and their golden files, each loaded once per test run.</summary>
internal static class TokenizerFixture
{
    /// <summary>tiny-enfr's tokenizer and tests/fixtures/tokenizer/goldens.jsonl (en, fr).</summary>
    public const string EnFr = "enfr";

    /// <summary>The en-de-ro vocabulary and tests/fixtures/xlm-family/tokenizer/goldens.jsonl (en, de, ro).</summary>
    public const string Family = "family";

    private static readonly Lazy<XlmTokenizer> s_tokenizer = new(() => XlmTokenizer.FromHfFiles(
        Path.Combine(Fixtures.TinyEnfr, "vocab.json"),
        Path.Combine(Fixtures.TinyEnfr, "merges.txt"),
        ["en", "fr"],
        lowercase: true));

    // The family goldens were made with do_lowercase_and_remove_accent on (their "lowercased" stage).
    private static readonly Lazy<XlmTokenizer> s_familyTokenizer = new(() => XlmTokenizer.FromHfFiles(
        Path.Combine(Fixtures.FamilyTokenizer, "vocab.json"),
        Path.Combine(Fixtures.FamilyTokenizer, "merges.txt"),
        ["en", "de", "ro"],
        lowercase: true));

    private static readonly Lazy<string[]> s_goldenLines = new(() => File.ReadAllLines(Fixtures.TokenizerGoldens));
    private static readonly Lazy<string[]> s_familyGoldenLines = new(() => File.ReadAllLines(Path.Combine(Fixtures.FamilyTokenizer, "goldens.jsonl")));

    /// <summary>tiny-enfr's tokenizer.</summary>
    public static XlmTokenizer Tokenizer => s_tokenizer.Value;

    /// <summary>The tokenizer a golden set was made with.</summary>
    public static XlmTokenizer TokenizerOf(string set) => set == Family ? s_familyTokenizer.Value : s_tokenizer.Value;

    public static int GoldenCount(string set) => Lines(set).Length;

    /// <summary>Golden line <paramref name="lineNumber"/> (1-based, as an editor shows it) of a set.</summary>
    public static JsonElement Golden(string set, int lineNumber)
    {
        using var document = JsonDocument.Parse(Lines(set)[lineNumber - 1]);
        return document.RootElement.Clone();
    }

    /// <summary>One theory case per golden line of every set: the set, the line number and its category, so a failure names the line.</summary>
    public static IEnumerable<object[]> GoldenCases()
    {
        foreach (var set in new[] { EnFr, Family })
        {
            var lines = Lines(set);
            for (int i = 0; i < lines.Length; i++)
            {
                using var document = JsonDocument.Parse(lines[i]);
                yield return [set, i + 1, document.RootElement.GetProperty("category").GetString()!];
            }
        }
    }

    public static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    public static int[] Ints(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];

    private static string[] Lines(string set) => set == Family ? s_familyGoldenLines.Value : s_goldenLines.Value;
}
