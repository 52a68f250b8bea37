using XlmEdge.Tokenization;

namespace XlmEdge.Tests.Tokenization;

/// <summary>
/// Which rules a language code selects: refusal of the languages HF hands to other segmenters,
/// the silent English fallback, Romanian preprocessing (the goldens check it end to end).
/// </summary>
public class LanguageRuleTests
{
    private static XlmTokenizer TokenizerWith(params string[] languages) => XlmTokenizer.FromHfFiles(
        Path.Combine(Fixtures.TinyEnfr, "vocab.json"), Path.Combine(Fixtures.TinyEnfr, "merges.txt"), languages, lowercase: true);

    [Theory]
    [InlineData("zh", "jieba", "你好，世界")]
    [InlineData("th", "PyThaiNLP", "สวัสดี")]
    [InlineData("ja", "KyTea", "こんにちは")]
    [InlineData("zh", "jieba", "")]
    [InlineData("ja", "KyTea", "<special1>")]
    public void LanguagesHfSegmentsWithOtherToolsAreRefusedInOneLine(string language, string tool, string text)
    {
        // A model with such a language loads; only tokenizing text of that language is refused.
        var tokenizer = TokenizerWith("en", language);

        var e = Assert.Throws<InvalidInputException>(() => tokenizer.Encode(text, language));
        Assert.StartsWith($"unsupported language '{language}': ", e.Message, StringComparison.Ordinal);
        Assert.Contains(tool, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);

        var ids = new List<int> { 9 };
        Assert.Throws<InvalidInputException>(() => tokenizer.EncodeIds(text, 1, ids));
        Assert.Equal([9], ids);
        Assert.NotEmpty(tokenizer.Encode("the cat", "en").Tokens);
    }

    [Fact]
    public void SacremosesCjkModeIsRefusedToo()
    {
        var e = Assert.Throws<InvalidInputException>(() => TokenizerWith("cjk").Encode("abc", "cjk"));
        Assert.StartsWith("unsupported language 'cjk': ", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ar")]
    [InlineData("zh_yue")]
    [InlineData("simple")]
    public void LanguagesWithoutAPrefixListTokenizeWithEnglishPrefixes(string language)
    {
        // No quotes: the punctuation normalizer's quote rule is English-only (sacremoses checks lang == "en").
        const string Text = "Mr. Smith met Dr. Jones at No. 5, then Prof. Lee.";
        var tokenizer = TokenizerWith("en", language);

        var other = tokenizer.Encode(Text, language);

        Assert.Equal(tokenizer.Encode(Text, "en").Ids, other.Ids);
        Assert.Equal(["Mr.", "Smith", "met", "Dr.", "Jones", "at", "No.", "5", ",", "then", "Prof.", "Lee", "."], tokenizer.TracePiece(Text, 1).Moses);
        Assert.Equal(language, other.Language);
        Assert.Equal(1, other.LanguageId);
    }

    [Fact]
    public void AListOfItsOwnChangesTheTokens()
    {
        // fr has no "Mr" prefix: the period splits off, unlike in en.
        var tokenizer = TokenizerWith("en", "fr");
        Assert.NotEqual(tokenizer.Encode("Mr. Smith", "en").Ids, tokenizer.Encode("Mr. Smith", "fr").Ids);
    }

    [Fact]
    public void RomanianPreprocessingMapsTheCedillaAndCommaFormsAndStripsDiacritics()
    {
        Assert.Equal("SsTtSsTtAaAaIi", RomanianPreprocessing.Apply("ŞşŢţȘșȚțĂăÂâÎî"));
        Assert.Equal("Postasul suna intotdeauna", RomanianPreprocessing.Apply("Poștașul sună întotdeauna"));
        // Only the precomposed letters: combining marks and other accented letters stay.
        Assert.Equal("s\u0326 t\u0327 é ä ß", RomanianPreprocessing.Apply("s\u0326 t\u0327 é ä ß"));
        const string Plain = "nothing to change";
        Assert.Same(Plain, RomanianPreprocessing.Apply(Plain));
    }

    [Fact]
    public void RomanianPreprocessingAppliesToRoOnly()
    {
        var tokenizer = TokenizerWith("en", "ro");
        Assert.Equal("Tara", tokenizer.TracePiece("Ţara", 1).Romanian);
        Assert.Null(tokenizer.TracePiece("Ţara", 0).Romanian);
        Assert.Equal(["Ţara"], tokenizer.TracePiece("Ţara", 0).Moses);
    }
}
