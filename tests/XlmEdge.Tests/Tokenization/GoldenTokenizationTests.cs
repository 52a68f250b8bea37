using XlmEdge.Tokenization;

namespace XlmEdge.Tests.Tokenization;

/// <summary>
/// Every line of tests/fixtures/tokenizer/goldens.jsonl (en, fr) and
/// tests/fixtures/xlm-family/tokenizer/goldens.jsonl (en, de, ro), end to end and stage by stage.
/// </summary>
public class GoldenTokenizationTests
{
    public static IEnumerable<object[]> Cases() => TokenizerFixture.GoldenCases();

    [Theory]
    [InlineData(TokenizerFixture.EnFr, 889)]
    [InlineData(TokenizerFixture.Family, 668)]
    public void GoldenFileHasAllLines(string set, int lines) => Assert.Equal(lines, TokenizerFixture.GoldenCount(set));

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodeMatchesGolden(string set, int line, string category)
    {
        var golden = TokenizerFixture.Golden(set, line);
        var text = golden.GetProperty("text").GetString()!;
        var language = golden.GetProperty("lang").GetString()!;

        var result = TokenizerFixture.TokenizerOf(set).Encode(text, language);

        Assert.Equal(TokenizerFixture.Strings(golden.GetProperty("tokens")), result.Tokens);
        Assert.Equal(TokenizerFixture.Ints(golden.GetProperty("ids")), result.Ids);
        Assert.Equal(language, result.Language);
        Assert.False(string.IsNullOrEmpty(category));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodeIdsMatchesGolden(string set, int line, string category)
    {
        var golden = TokenizerFixture.Golden(set, line);
        var tokenizer = TokenizerFixture.TokenizerOf(set);
        var ids = new List<int> { -7 };

        tokenizer.EncodeIds(golden.GetProperty("text").GetString()!, tokenizer.LanguageIdOf(golden.GetProperty("lang").GetString()!), ids);

        Assert.Equal([-7, .. TokenizerFixture.Ints(golden.GetProperty("ids"))], ids);
        Assert.False(string.IsNullOrEmpty(category));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryStageMatchesGolden(string set, int line, string category)
    {
        var golden = TokenizerFixture.Golden(set, line);
        var tokenizer = TokenizerFixture.TokenizerOf(set);
        int languageId = tokenizer.LanguageIdOf(golden.GetProperty("lang").GetString()!);
        var pieces = XlmTokenizer.SplitOnSpecialTokens(golden.GetProperty("text").GetString()!);
        var expected = golden.GetProperty("pieces").EnumerateArray().ToArray();

        Assert.Equal(expected.Length, pieces.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i].TryGetProperty("special", out var special))
            {
                Assert.True(pieces[i].Special >= 0, $"piece {i} should be a special token");
                Assert.Equal(special.GetString(), pieces[i].Text);
                continue;
            }
            Assert.Equal(-1, pieces[i].Special);
            Assert.Equal(expected[i].GetProperty("piece").GetString(), pieces[i].Text);
            var trace = tokenizer.TracePiece(pieces[i].Text, languageId);
            Assert.Equal(expected[i].GetProperty("unicode_punct").GetString(), trace.UnicodePunct);
            Assert.Equal(expected[i].GetProperty("punct_norm").GetString(), trace.PunctNorm);
            Assert.Equal(expected[i].GetProperty("printable").GetString(), trace.Printable);
            // Only ro pieces have the romanian_preprocessing stage, between printable and moses.
            Assert.Equal(expected[i].TryGetProperty("romanian", out var romanian) ? romanian.GetString() : null, trace.Romanian);
            Assert.Equal(TokenizerFixture.Strings(expected[i].GetProperty("moses")), trace.Moses);
            Assert.Equal(TokenizerFixture.Strings(expected[i].GetProperty("lowercased")), trace.Lowercased);
            Assert.Equal(TokenizerFixture.Strings(expected[i].GetProperty("bpe")), trace.Bpe);
        }
        Assert.False(string.IsNullOrEmpty(category));
    }
}
