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
        Assert.Equal(["en", "fr"], MosesResources.LanguagesWithPrefixes());
    }

    [Theory]
    [InlineData("en", "No. 5", new[] { "No.", "5" })]
    [InlineData("en", "No. Five", new[] { "No", ".", "Five" })]
    [InlineData("en", "ended. the", new[] { "ended.", "the" })]
    [InlineData("en", "Mr. Smith", new[] { "Mr.", "Smith" })]
    [InlineData("fr", "Mr. Smith", new[] { "Mr", ".", "Smith" })]
    public void PrefixRulesFromTheFixturesReadme(string language, string text, string[] expected)
    {
        var moses = new MosesTokenizer(language, MosesResources.TryReadNonbreakingPrefixes(language)!);
        Assert.Equal(expected, moses.Tokenize(text));
    }
}
