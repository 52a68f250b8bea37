using System.Buffers;
using System.Globalization;
using System.Text;

namespace XlmEdge.Tokenization;

/// <summary>
/// The Python 3 <c>str</c> semantics the reference tokenizer relies on, over code points:
/// <c>isspace</c> (also <c>re</c>'s <c>\s</c>), <c>\d</c>, <c>strip</c>, <c>split()</c>,
/// <c>splitlines</c>, <c>lower()</c> (full mapping with final sigma) and category tests.
/// </summary>
/// <remarks>
/// A .NET string is UTF-16; Python iterates code points. Every scanner here decodes surrogate
/// pairs, and treats an unpaired surrogate as a code point of its own (category Cs), as a
/// Python string holding a lone surrogate would. Unicode properties come from .NET's tables,
/// which are newer than Python 3.11's Unicode 14.0: characters assigned after 14.0 are
/// unassigned (Cn, deleted as non-printing) for the reference but assigned here.
/// </remarks>
internal static class PythonText
{
    /// <summary>Code point at <paramref name="index"/>; <paramref name="length"/> is 2 for a surrogate pair.</summary>
    public static int CodePointAt(ReadOnlySpan<char> s, int index, out int length)
    {
        char c = s[index];
        if (char.IsHighSurrogate(c) && index + 1 < s.Length && char.IsLowSurrogate(s[index + 1]))
        {
            length = 2;
            return char.ConvertToUtf32(c, s[index + 1]);
        }
        length = 1;
        return c;
    }

    /// <summary>Code point that ends just before <paramref name="end"/>.</summary>
    public static int CodePointBefore(ReadOnlySpan<char> s, int end, out int length)
    {
        char c = s[end - 1];
        if (char.IsLowSurrogate(c) && end >= 2 && char.IsHighSurrogate(s[end - 2]))
        {
            length = 2;
            return char.ConvertToUtf32(s[end - 2], c);
        }
        length = 1;
        return c;
    }

    /// <summary>Every character for which <see cref="IsWhitespace"/> holds (all are in the BMP), for vectorized searches.</summary>
    public static readonly SearchValues<char> Whitespace = SearchValues.Create(
        "\t\n\v\f\r\x1C\x1D\x1E\x1F \x85\xA0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000");

    /// <summary><see cref="Whitespace"/> without U+0020.</summary>
    public static readonly SearchValues<char> WhitespaceExceptSpace = SearchValues.Create(
        "\t\n\v\f\r\x1C\x1D\x1E\x1F\x85\xA0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000");

    /// <summary>Python <c>str.isspace()</c> for one code point (also <c>\s</c> of <c>re</c> on str patterns).</summary>
    public static bool IsWhitespace(int cp) => cp switch
    {
        >= 0x09 and <= 0x0D => true,
        >= 0x1C and <= 0x20 => true,
        0x85 or 0xA0 or 0x1680 => true,
        >= 0x2000 and <= 0x200A => true,
        0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    /// <summary><c>\d</c> of Python's <c>re</c> on str patterns: category Nd.</summary>
    public static bool IsDecimalDigit(int cp) =>
        cp < 0x80 ? (uint)(cp - '0') <= 9 : CharUnicodeInfo.GetUnicodeCategory(cp) == UnicodeCategory.DecimalDigitNumber;

    /// <summary>Unicode general category "C*" (Cc, Cf, Cs, Co, Cn).</summary>
    public static bool IsOtherCategory(int cp)
    {
        if (cp >= 0x20 && cp < 0x7F)
            return false;
        return CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    /// <summary>Python <c>str.strip()</c>.</summary>
    public static string Strip(string s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsWhitespace(s[start]))
            start++;
        while (end > start && IsWhitespace(s[end - 1]))
            end--;
        return start == 0 && end == s.Length ? s : s.Substring(start, end - start);
    }

    /// <summary>Python <c>str.split()</c> with no argument: runs of whitespace separate, no empty items.</summary>
    public static List<string> SplitWhitespace(string s)
    {
        var parts = new List<string>();
        int i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && IsWhitespace(s[i]))
                i++;
            int start = i;
            while (i < s.Length && !IsWhitespace(s[i]))
                i++;
            if (i > start)
                parts.Add(s.Substring(start, i - start));
        }
        return parts;
    }

    /// <summary>Python <c>str.splitlines()</c> (no line ends kept).</summary>
    public static List<string> SplitLines(string s)
    {
        var lines = new List<string>();
        int start = 0, i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            bool lineBreak = c is '\n' or '\r' or '\v' or '\f' or '\x1C' or '\x1D' or '\x1E' or '\x85' or '\u2028' or '\u2029';
            if (!lineBreak)
            {
                i++;
                continue;
            }
            lines.Add(s.Substring(start, i - start));
            i += c == '\r' && i + 1 < s.Length && s[i + 1] == '\n' ? 2 : 1;
            start = i;
        }
        if (start < s.Length)
            lines.Add(s.Substring(start));
        return lines;
    }

    /// <summary>Deletes every code point whose category starts with "C" (HF <c>remove_non_printing_char</c>).</summary>
    public static string RemoveNonPrinting(string s)
    {
        if (!s.AsSpan().ContainsAnyExceptInRange(' ', '~'))
            return s;
        int i = 0;
        while (i < s.Length)
        {
            int cp = CodePointAt(s, i, out int len);
            if (IsOtherCategory(cp))
                break;
            i += len;
        }
        if (i == s.Length)
            return s;
        var sb = new StringBuilder(s.Length);
        sb.Append(s, 0, i);
        while (i < s.Length)
        {
            int cp = CodePointAt(s, i, out int len);
            if (!IsOtherCategory(cp))
                sb.Append(s, i, len);
            i += len;
        }
        return sb.ToString();
    }

    /// <summary>
    /// Python <c>str.lower()</c>: the simple lowercase mapping, plus the two mappings Python
    /// applies beyond it: U+0130 becomes "i" + U+0307, and capital sigma becomes final sigma
    /// when a cased letter precedes it and none follows (skipping case-ignorable characters).
    /// </summary>
    public static string ToLower(string s)
    {
        bool ascii = true;
        foreach (char c in s)
        {
            if (c >= 0x80)
            {
                ascii = false;
                break;
            }
        }
        if (ascii)
            return LowerAscii(s);

        var sb = new StringBuilder(s.Length + 4);
        int i = 0;
        while (i < s.Length)
        {
            int cp = CodePointAt(s, i, out int len);
            if (cp == 0x130)
                sb.Append("i\u0307");
            else if (cp == 0x3A3)
                sb.Append(IsFinalSigma(s, i) ? '\u03C2' : '\u03C3');
            else if (len == 1 && char.IsSurrogate((char)cp))
                sb.Append((char)cp);
            else
                sb.Append(Rune.ToLowerInvariant(new Rune(cp)).ToString());
            i += len;
        }
        return sb.ToString();
    }

    private static string LowerAscii(string s)
    {
        int i = 0;
        while (i < s.Length && (uint)(s[i] - 'A') > 'Z' - 'A')
            i++;
        if (i == s.Length)
            return s;
        return string.Create(s.Length, s, static (span, src) =>
        {
            for (int k = 0; k < src.Length; k++)
            {
                char c = src[k];
                span[k] = (uint)(c - 'A') <= 'Z' - 'A' ? (char)(c | 0x20) : c;
            }
        });
    }

    // Mirrors CPython's handle_capital_sigma: \p{cased}\p{case-ignorable}* SIGMA !(\p{case-ignorable}*\p{cased}).
    private static bool IsFinalSigma(string s, int index)
    {
        int j = index;
        int before = -1;
        while (j > 0)
        {
            int cp = CodePointBefore(s, j, out int len);
            j -= len;
            if (!IsCaseIgnorable(cp))
            {
                before = cp;
                break;
            }
        }
        if (before < 0 || !IsCased(before))
            return false;
        j = index + 1;
        while (j < s.Length)
        {
            int cp = CodePointAt(s, j, out int len);
            j += len;
            if (!IsCaseIgnorable(cp))
                return !IsCased(cp);
        }
        return true;
    }

    // Unicode's Cased property: Lu, Ll, Lt plus the Other_Lowercase/Other_Uppercase characters
    // that are not case-ignorable (those are skipped before Cased is asked).
    private static bool IsCased(int cp)
    {
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        if (cat is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter)
            return true;
        return cp is 0xAA or 0xBA or (>= 0x2160 and <= 0x217F) or (>= 0x24B6 and <= 0x24E9)
            or (>= 0x1F130 and <= 0x1F149) or (>= 0x1F150 and <= 0x1F169) or (>= 0x1F170 and <= 0x1F189);
    }

    // Unicode's Case_Ignorable property: Mn, Me, Cf, Lm, Sk plus Word_Break MidLetter,
    // MidNumLet and Single_Quote characters.
    private static bool IsCaseIgnorable(int cp)
    {
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        if (cat is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol)
            return true;
        return cp is 0x27 or 0x2E or 0x3A or 0xB7 or 0x387 or 0x55F or 0x5F4 or 0x2018 or 0x2019 or 0x2024
            or 0x2027 or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A;
    }
}
