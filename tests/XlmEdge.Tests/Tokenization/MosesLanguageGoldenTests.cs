using System.Text.Json;
using XlmEdge.Tokenization;

namespace XlmEdge.Tests.Tokenization;

/// <summary>
/// tests/fixtures/moses-languages/goldens.jsonl, made by sacremoses 0.1.1 itself: the punctuation
/// normalizer and the Moses tokenizer for each of the 38 languages with a prefix list, the English
/// names that select one, ko, and codes that fall back to the English list.
/// </summary>
public class MosesLanguageGoldenTests
{
    private static readonly Lazy<ILookup<string, (int Line, JsonElement Golden)>> s_goldens = new(() =>
        File.ReadAllLines(Path.Combine(Fixtures.Root, "moses-languages", "goldens.jsonl"))
            .Select((line, i) => (Line: i + 1, Golden: JsonDocument.Parse(line).RootElement.Clone()))
            .ToLookup(g => g.Golden.GetProperty("lang").GetString()!, StringComparer.Ordinal));

    public static TheoryData<string> Languages() => [.. s_goldens.Value.Select(g => g.Key)];

    [Fact]
    public void EverySacremosesListIsCovered()
    {
        var covered = s_goldens.Value.Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        // zh's list is reached through sacremoses' English name "chinese" (XlmEdge refuses "zh" itself).
        Assert.All(MosesResources.PrefixLanguages.Where(l => l != "zh"), l => Assert.Contains(l, covered));
        Assert.Contains("chinese", covered);
        Assert.Equal(1472, s_goldens.Value.Sum(g => g.Count()));
    }

    [Theory]
    [MemberData(nameof(Languages))]
    public void NormalizerAndMosesMatchSacremoses(string language)
    {
        var normalizer = new MosesPunctNormalizer(language);
        var moses = new MosesTokenizer(language);
        foreach (var (line, golden) in s_goldens.Value[language])
        {
            var text = golden.GetProperty("text").GetString()!;
            var normalized = normalizer.Normalize(text);
            Assert.True(golden.GetProperty("punct_norm").GetString() == normalized, $"line {line}: normalizer gave '{normalized}'");
            var tokens = moses.Tokenize(normalized);
            var expected = TokenizerFixture.Strings(golden.GetProperty("moses"));
            Assert.True(expected.SequenceEqual(tokens), $"line {line}: Moses gave [{string.Join(" | ", tokens)}]");
        }
    }
}
