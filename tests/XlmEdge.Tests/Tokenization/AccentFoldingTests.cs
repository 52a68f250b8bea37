using System.Globalization;
using System.Text;
using XlmEdge.Tokenization;

namespace XlmEdge.Tests.Tokenization;

/// <summary>
/// The accent folding carries its own NFD tables so that tokens do not depend on ICU; these tests hold
/// those tables to ICU's <see cref="string.Normalize(NormalizationForm)"/>, so they need ICU (the default
/// on Linux with libicu installed). The same tokenization without ICU is checked in
/// <see cref="InvariantGlobalizationTests"/>.
/// </summary>
public class AccentFoldingTests
{
    /// <summary>The fold as first written, over ICU: Python lower(), NFD, drop Mn, lower().</summary>
    private static string IcuFold(string word)
    {
        var decomposed = PythonText.ToLower(word).Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder();
        for (int i = 0; i < decomposed.Length;)
        {
            int cp = PythonText.CodePointAt(decomposed, i, out int len);
            if (CharUnicodeInfo.GetUnicodeCategory(cp) != UnicodeCategory.NonSpacingMark)
                sb.Append(decomposed, i, len);
            i += len;
        }
        return PythonText.ToLower(sb.ToString());
    }

    [Fact]
    public void IcuIsThere() =>
        Assert.True("\u00E9".Normalize(NormalizationForm.FormD).Length == 2, "these tests compare with ICU's NFD: install ICU (libicu) and do not set invariant globalization");

    [Fact]
    public void EveryCodePointFoldsAsIcu()
    {
        Assert.Equal(2, "\u00E9".Normalize(NormalizationForm.FormD).Length);
        var mismatches = new List<string>();
        for (int cp = 0x80; cp <= 0x10FFFF; cp++)
        {
            if (cp is (>= 0xD800 and <= 0xDFFF) or 0xFFFE) // surrogates; .NET refuses to normalize U+FFFE (Normalization.HasInvalidUnicodeSequence)
                continue;
            string s = char.ConvertFromUtf32(cp);
            string expected = IcuFold(s), actual = AccentFolding.Fold(s);
            if (expected != actual && mismatches.Count < 10)
                mismatches.Add($"U+{cp:X4}: ICU {Hex(expected)}, ours {Hex(actual)}");
        }
        Assert.Empty(mismatches);
    }

    [Fact]
    public void NfdMatchesIcuOnEveryCodePoint()
    {
        Assert.Equal(2, "\u00E9".Normalize(NormalizationForm.FormD).Length);
        for (int cp = 0; cp <= 0x10FFFF; cp++)
        {
            if (cp is (>= 0xD800 and <= 0xDFFF) or 0xFFFE) // surrogates; .NET refuses to normalize U+FFFE (Normalization.HasInvalidUnicodeSequence)
                continue;
            string s = char.ConvertFromUtf32(cp);
            var ours = string.Concat(AccentFolding.Decompose(s).Select(char.ConvertFromUtf32));
            if (ours != s.Normalize(NormalizationForm.FormD))
                Assert.Fail($"U+{cp:X4}: ICU {Hex(s.Normalize(NormalizationForm.FormD))}, ours {Hex(ours)}");
        }
    }

    /// <summary>Random runs of bases, precomposed letters, Hangul and marks of mixed combining classes
    /// (canonical reordering, marks of class 0 between marks, marks dropped or kept).</summary>
    [Fact]
    public void RandomSequencesFoldAsIcu()
    {
        var pool = new List<int>();
        for (int cp = 0x41; cp <= 0x2FFFF; cp++)
        {
            if (cp is (>= 0xD800 and <= 0xDFFF) or 0xFFFE) // surrogates; .NET refuses to normalize U+FFFE (Normalization.HasInvalidUnicodeSequence)
                continue;
            string s = char.ConvertFromUtf32(cp);
            if (AccentFolding.CombiningClass(cp) != 0 || s.Normalize(NormalizationForm.FormD) != s
                || CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark)
                pool.Add(cp);
        }
        pool.AddRange([0x41, 0x49, 0x130, 0x3A3, 0x20, 0x61]);
        var random = new Random(12);
        var sb = new StringBuilder();
        for (int n = 0; n < 20_000; n++)
        {
            sb.Clear();
            int length = random.Next(1, 8);
            for (int i = 0; i < length; i++)
                sb.Append(char.ConvertFromUtf32(pool[random.Next(pool.Count)]));
            string s = sb.ToString();
            Assert.True(IcuFold(s) == AccentFolding.Fold(s), $"{Hex(s)}: ICU {Hex(IcuFold(s))}, ours {Hex(AccentFolding.Fold(s))}");
        }
    }

    [Theory]
    [InlineData("\u00C9t\u00E9", "ete")]
    [InlineData("\uD55C\uAD6D\uC5B4", "\u1112\u1161\u11AB\u1100\u116E\u11A8\u110B\u1165")]
    [InlineData("a\uD800b\u00E8", "a\uD800be")]
    public void FoldsKnownWords(string word, string folded) => Assert.Equal(folded, AccentFolding.Fold(word));

    private static string Hex(string s) => string.Join(' ', s.EnumerateRunes().Select(r => $"U+{r.Value:X4}"));
}
