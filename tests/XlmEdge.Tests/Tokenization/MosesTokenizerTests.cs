using System.Text.RegularExpressions;
using XlmEdge.Tokenization;

namespace XlmEdge.Tests.Tokenization;

public class MosesTokenizerTests
{
    // sacremoses replace_multidots / restore_multidots, transcribed with .NET Regex (same
    // semantics as Python re for these ASCII patterns).
    private static string LoopReplaceMultidots(string text)
    {
        text = Regex.Replace(text, @"\.([\.]+)", " DOTMULTI$1");
        while (Regex.IsMatch(text, @"DOTMULTI\."))
        {
            text = Regex.Replace(text, @"DOTMULTI\.([^\.])", "DOTDOTMULTI $1");
            text = Regex.Replace(text, @"DOTMULTI\.", "DOTDOTMULTI");
        }
        return text;
    }

    private static string LoopRestoreMultidots(string text)
    {
        while (Regex.IsMatch(text, "DOTDOTMULTI"))
            text = Regex.Replace(text, "DOTDOTMULTI", "DOTMULTI.");
        return Regex.Replace(text, "DOTMULTI", ".");
    }

    [Fact]
    public void MultidotsMatchSacremosesLoopsEvenWhenTheTextSpellsTheMarker()
    {
        string[] atoms = [".", ".", "..", "...", "x", " ", "D", "O", "T", "DOT", "MULTI", "DOTMULTI", "DOTDOTMULTI", "DOTMULTI."];
        var random = new Random(7);
        for (int n = 0; n < 20000; n++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(1, 12)).Select(_ => atoms[random.Next(atoms.Length)]));
            var replaced = LoopReplaceMultidots(text);
            Assert.Equal(replaced, MosesTokenizer.ReplaceMultidots(text));
            Assert.Equal(LoopRestoreMultidots(replaced), MosesTokenizer.RestoreMultidots(replaced));
        }
    }

    [Fact]
    public void LongDotRunIsLinear()
    {
        var dots = new string('.', 400_000);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var marked = MosesTokenizer.ReplaceMultidots("a" + dots + "b");
        Assert.Equal("a " + dots + " b", MosesTokenizer.RestoreMultidots(marked));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
    }

    [Fact]
    public void MosesDataIsEmbeddedAsCodePointSets()
    {
        var classes = MosesResources.Classes;
        Assert.True(classes.IsN.Contains('\n'));          // IsN.txt ends with a newline, which sacremoses keeps
        Assert.False(classes.IsAlnum.Contains('\n'));
        Assert.True(classes.IsLower.Contains(0x10428));   // supplementary member (DESERET SMALL LONG I)
        Assert.True(classes.IsAlnum.Contains(0x11046));   // BRAHMI VIRAMA, one of the indic additions
        Assert.True(classes.IsAlpha.Contains(0x11046));
        Assert.False(classes.IsAlnum.Contains(0x1F600));  // emoji are always padded
        Assert.False(classes.IsAlnum.Contains(0xAC00));   // HANGUL SYLLABLE GA: a letter for ko only
        Assert.True(MosesResources.ClassesFor("ko").IsAlnum.Contains(0xAC00));
        Assert.True(MosesResources.ClassesFor("ko").IsAlpha.Contains(0x3001));
        Assert.Same(classes, MosesResources.ClassesFor("de"));
    }

    [Fact]
    public void EverySacremosesLanguageHasItsPrefixListEmbedded()
    {
        string[] sacremoses =
        [
            "as", "bn", "ca", "cs", "de", "el", "en", "es", "et", "fi", "fr", "ga", "gu", "hi", "hu", "is", "it", "kn", "lt",
            "lv", "ml", "mni", "mr", "nl", "or", "pa", "pl", "pt", "ro", "ru", "sk", "sl", "sv", "ta", "tdt", "te", "yue", "zh",
        ];
        Assert.Equal(sacremoses, MosesResources.LanguagesWithPrefixes());
        Assert.Equal(sacremoses.Order(StringComparer.Ordinal), MosesResources.PrefixLanguages.Order(StringComparer.Ordinal));
        foreach (var language in sacremoses)
            Assert.Equal(language, MosesResources.PrefixLanguageOf(language));
    }

    [Theory]
    [InlineData("german", "de")]
    [InlineData("romanian", "ro")]
    [InlineData("ar", "en")]
    [InlineData("ko", "en")]
    [InlineData("zh_yue", "en")]
    [InlineData("DE", "en")]
    [InlineData("", "en")]
    public void OtherLanguagesReadTheListSacremosesReads(string language, string list) =>
        Assert.Equal(list, MosesResources.PrefixLanguageOf(language));

    [Theory]
    [InlineData("en", "No. 5", new[] { "No.", "5" })]
    [InlineData("en", "No. Five", new[] { "No", ".", "Five" })]
    [InlineData("en", "ended. the", new[] { "ended.", "the" })]
    [InlineData("en", "Mr. Smith", new[] { "Mr.", "Smith" })]
    [InlineData("fr", "Mr. Smith", new[] { "Mr", ".", "Smith" })]
    // sacremoses 0.1.1 MosesTokenizer(lang).tokenize(text, escape=False), run on these strings:
    [InlineData("de", "z. B. Nr. 5 dl. Popescu", new[] { "z.", "B.", "Nr.", "5", "dl", ".", "Popescu" })]
    [InlineData("ro", "Mr. Smith z. B. Nr. 5 dl. Popescu", new[] { "Mr", ".", "Smith", "z", ".", "B.", "Nr", ".", "5", "dl.", "Popescu" })]
    [InlineData("ar", "Mr. Smith z. B. Nr. 5 dl. Popescu", new[] { "Mr.", "Smith", "z", ".", "B.", "Nr.", "5", "dl", ".", "Popescu" })]
    [InlineData("en", "가나、다 Mr. Smith", new[] { "가", "나", "、", "다", "Mr.", "Smith" })]
    [InlineData("ko", "가나、다 Mr. Smith", new[] { "가나、다", "Mr.", "Smith" })]
    public void PrefixAndLetterRulesPerLanguage(string language, string text, string[] expected)
    {
        var moses = new MosesTokenizer(language);
        Assert.Equal(expected, moses.Tokenize(text));
    }
}
