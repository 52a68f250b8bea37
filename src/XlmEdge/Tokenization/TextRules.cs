using System.Text;

namespace XlmEdge.Tokenization;

/// <summary>
/// Hand-written equivalents of the small regular expressions the Moses scripts apply, with
/// Python <c>re.sub</c> semantics: matches are found left to right and never overlap (a match
/// resumes the search after its last character). Predicates see whole code points.
/// </summary>
internal static class TextRules
{
    /// <summary><c>re.sub(" +", " ")</c>: runs of U+0020 become one.</summary>
    public static string CollapseSpaces(string s)
    {
        int i = s.IndexOf("  ", StringComparison.Ordinal);
        if (i < 0)
            return s;
        var sb = new StringBuilder(s.Length);
        sb.Append(s, 0, i + 1);
        for (i++; i < s.Length; i++)
        {
            if (s[i] == ' ' && s[i - 1] == ' ')
                continue;
            sb.Append(s[i]);
        }
        return sb.ToString();
    }

    /// <summary><c>re.sub(r"\s+", " ")</c> with Python's <c>\s</c>.</summary>
    public static string CollapseWhitespace(string s)
    {
        if (!s.AsSpan().ContainsAny(PythonText.WhitespaceExceptSpace) && !s.Contains("  ", StringComparison.Ordinal))
            return s;
        int i = 0;
        for (; i < s.Length; i++)
        {
            if (PythonText.IsWhitespace(s[i]) && (s[i] != ' ' || (i + 1 < s.Length && PythonText.IsWhitespace(s[i + 1]))))
                break;
        }
        if (i == s.Length)
            return s;
        var sb = new StringBuilder(s.Length);
        sb.Append(s, 0, i);
        while (i < s.Length)
        {
            if (PythonText.IsWhitespace(s[i]))
            {
                sb.Append(' ');
                while (i < s.Length && PythonText.IsWhitespace(s[i]))
                    i++;
            }
            else
            {
                sb.Append(s[i++]);
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// <c>re.sub("(L)M(R)", "\1" + replacement + "\2")</c> for a single-character middle
    /// <paramref name="middle"/> and one-code-point classes <paramref name="left"/> and
    /// <paramref name="right"/>.
    /// </summary>
    public static string ReplaceBetween(string s, char middle, Func<int, bool> left, Func<int, bool> right, string replacement)
    {
        int q = s.IndexOf(middle);
        if (q < 0)
            return s;
        StringBuilder? sb = null;
        int copied = 0;     // s[..copied] is already in sb
        int searchFrom = 0; // where the next match may start
        while (q >= 0)
        {
            if (q > 0 && q + 1 < s.Length)
            {
                int l = PythonText.CodePointBefore(s, q, out int leftLen);
                int r = PythonText.CodePointAt(s, q + 1, out int rightLen);
                if (q - leftLen >= searchFrom && left(l) && right(r))
                {
                    sb ??= new StringBuilder(s.Length + 16);
                    sb.Append(s, copied, q - copied).Append(replacement);
                    copied = q + 1;
                    searchFrom = q + 1 + rightLen;
                    q = searchFrom < s.Length ? s.IndexOf(middle, searchFrom) : -1;
                    continue;
                }
            }
            q = q + 1 < s.Length ? s.IndexOf(middle, q + 1) : -1;
        }
        if (sb is null)
            return s;
        sb.Append(s, copied, s.Length - copied);
        return sb.ToString();
    }

    /// <summary><c>re.sub("(L)M", "\1" + replacement)</c>: one code point of class <paramref name="left"/> then <paramref name="middle"/>.</summary>
    public static string ReplaceAfter(string s, char middle, Func<int, bool> left, string replacement)
    {
        int q = s.IndexOf(middle);
        if (q < 0)
            return s;
        StringBuilder? sb = null;
        int copied = 0, searchFrom = 0;
        while (q >= 0)
        {
            if (q > 0)
            {
                int l = PythonText.CodePointBefore(s, q, out int leftLen);
                if (q - leftLen >= searchFrom && left(l))
                {
                    sb ??= new StringBuilder(s.Length + 16);
                    sb.Append(s, copied, q - copied).Append(replacement);
                    copied = searchFrom = q + 1;
                }
            }
            q = q + 1 < s.Length ? s.IndexOf(middle, q + 1) : -1;
        }
        if (sb is null)
            return s;
        sb.Append(s, copied, s.Length - copied);
        return sb.ToString();
    }

    /// <summary><c>re.sub("M(R)", replacement + "\1")</c>: <paramref name="middle"/> then one code point of class <paramref name="right"/>.</summary>
    public static string ReplaceBefore(string s, char middle, Func<int, bool> right, string replacement)
    {
        int q = s.IndexOf(middle);
        if (q < 0)
            return s;
        StringBuilder? sb = null;
        int copied = 0;
        while (q >= 0)
        {
            int next = q + 1;
            if (q + 1 < s.Length)
            {
                int r = PythonText.CodePointAt(s, q + 1, out int rightLen);
                if (right(r))
                {
                    sb ??= new StringBuilder(s.Length + 16);
                    sb.Append(s, copied, q - copied).Append(replacement);
                    copied = q + 1;
                    next = q + 1 + rightLen;
                }
            }
            q = next < s.Length ? s.IndexOf(middle, next) : -1;
        }
        if (sb is null)
            return s;
        sb.Append(s, copied, s.Length - copied);
        return sb.ToString();
    }
}
