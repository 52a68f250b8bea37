using System.Text;

namespace XlmEdge.Tokenization;

/// <summary>
/// sacremoses 0.1.1 <c>MosesTokenizer(lang).tokenize(text, aggressive_dash_splits=False,
/// escape=False, protected_patterns=None)</c>: a port of Moses tokenizer.perl.
/// </summary>
/// <remarks>
/// Steps, in sacremoses' order: collapse whitespace, drop ASCII control characters, strip;
/// pad every character outside IsAlnum, whitespace and <c>.'`,-</c> with spaces; protect runs
/// of dots (DOTMULTI); separate commas not inside numbers; the language's apostrophe rules;
/// non-breaking prefixes; collapse and strip; split a final <c>.'</c>; restore the dots; split
/// on whitespace. Language-specific behaviour is data (the prefix file, and Hangul letters added
/// to IsAlnum and IsAlpha for ko) plus sacremoses' choice of apostrophe rules (en; fr and it;
/// everything else).
/// </remarks>
internal sealed class MosesTokenizer
{
    private const string DotMulti = "DOTMULTI";
    private const string NumericOnlyMarker = "#NUMERIC_ONLY#";

    private enum ApostropheRules { English, FrenchItalian, Other }

    private readonly MosesResources.CharacterClasses _classes;
    private readonly ApostropheRules _apostrophes;
    private readonly HashSet<string> _prefixes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _numericOnlyPrefixes = new(StringComparer.Ordinal);
#if NET9_0_OR_GREATER
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _prefixLookup, _numericOnlyLookup;
#else
    private readonly SpanKeyedSet _prefixLookup, _numericOnlyLookup;
#endif

    private readonly Func<int, bool> _notIsN, _isN, _isAlpha, _notIsAlpha, _notIsAlphaNorIsN;
    private readonly bool[] _asciiKeptByPadding = new bool[0x80];
    private static readonly Func<int, bool> s_lowerS = cp => cp == 's';

    /// <param name="language">
    /// Moses language code; selects the apostrophe rules, the non-breaking prefix list (English
    /// for a language sacremoses has none for) and the character classes (Hangul letters for ko).
    /// </param>
    public MosesTokenizer(string language)
    {
        _classes = MosesResources.ClassesFor(language);
        string nonbreakingPrefixFile = MosesResources.NonbreakingPrefixes(language);
        _apostrophes = language switch
        {
            "en" => ApostropheRules.English,
            "fr" or "it" => ApostropheRules.FrenchItalian,
            _ => ApostropheRules.Other,
        };
        foreach (var raw in PythonText.SplitLines(nonbreakingPrefixFile))
        {
            var line = PythonText.Strip(raw);
            if (line.Length == 0 || line[0] == '#')
                continue;
            _prefixes.Add(line);
            if (HasNumericOnlyMarker(line))
            {
                int space = line.LastIndexOf(' ');
                _numericOnlyPrefixes.Add(space < 0 ? "" : line.Substring(0, space));
            }
        }

#if NET9_0_OR_GREATER
        _prefixLookup = _prefixes.GetAlternateLookup<ReadOnlySpan<char>>();
        _numericOnlyLookup = _numericOnlyPrefixes.GetAlternateLookup<ReadOnlySpan<char>>();
#else
        _prefixLookup = new(_prefixes);
        _numericOnlyLookup = new(_numericOnlyPrefixes);
#endif

        var c = _classes;
        for (int cp = 0; cp < 0x80; cp++)
            _asciiKeptByPadding[cp] = cp is '.' or '\'' or '`' or ',' or '-' || PythonText.IsWhitespace(cp) || c.IsAlnum.Contains(cp);
        _isN = c.IsN.Contains;
        _notIsN = cp => !c.IsN.Contains(cp);
        _isAlpha = c.IsAlpha.Contains;
        _notIsAlpha = cp => !c.IsAlpha.Contains(cp);
        _notIsAlphaNorIsN = cp => !c.IsAlpha.Contains(cp) && !c.IsN.Contains(cp);
    }

    // re.search(r"[\s]+(\#NUMERIC_ONLY\#)", line)
    private static bool HasNumericOnlyMarker(string line)
    {
        for (int at = line.IndexOf(NumericOnlyMarker, StringComparison.Ordinal); at >= 0;
             at = line.IndexOf(NumericOnlyMarker, at + 1, StringComparison.Ordinal))
        {
            if (at > 0 && PythonText.IsWhitespace(line[at - 1]))
                return true;
        }
        return false;
    }

    /// <summary>Tokenizes one piece of already normalized text into Moses tokens.</summary>
    public List<string> Tokenize(string text) => PythonText.SplitWhitespace(TokenizeToString(text));

    /// <summary>
    /// The Moses tokens of <paramref name="text"/> as one string, separated by whitespace
    /// (sacremoses' <c>return_str=True</c> form), so that callers can walk the tokens without
    /// allocating each one.
    /// </summary>
    public string TokenizeToString(string text)
    {
        text = TextRules.CollapseWhitespace(text);
        text = RemoveAsciiControls(text);
        text = PythonText.Strip(text);
        text = PadNotAlnum(text);
        text = ReplaceMultidots(text);

        text = TextRules.ReplaceAfter(text, ',', _notIsN, " , ");
        text = TextRules.ReplaceBefore(text, ',', _notIsN, " , ");
        text = SeparateFinalCommaAfterNumber(text);

        text = _apostrophes switch
        {
            ApostropheRules.English => EnglishApostrophes(text),
            ApostropheRules.FrenchItalian => FrenchItalianApostrophes(text),
            _ => text.Replace("'", " ' ", StringComparison.Ordinal),
        };

        text = HandleNonbreakingPrefixes(text);
        text = PythonText.Strip(TextRules.CollapseWhitespace(text));
        text = SplitTrailingDotApostrophe(text);
        return RestoreMultidots(text);
    }

    // re.sub(r"[\000-\037]", "")
    private static string RemoveAsciiControls(string s)
    {
        if (!s.AsSpan().ContainsAnyInRange('\0', '\x1F'))
            return s;
        var sb = new StringBuilder(s.Length);
        foreach (char c in s)
        {
            if (c >= 0x20)
                sb.Append(c);
        }
        return sb.ToString();
    }

    // re.sub(r"([^{IsAlnum}\s\.'\`\,\-])", r" \1 ")
    private string PadNotAlnum(string s)
    {
        StringBuilder? sb = null;
        int copied = 0;
        int i = 0;
        var alnum = _classes.IsAlnum;
        while (i < s.Length)
        {
            char c = s[i];
            int cp, len;
            bool keep;
            if (c < 0x80)
            {
                cp = c;
                len = 1;
                keep = _asciiKeptByPadding[c];
            }
            else
            {
                cp = PythonText.CodePointAt(s, i, out len);
                keep = PythonText.IsWhitespace(cp) || alnum.Contains(cp);
            }
            if (!keep)
            {
                sb ??= new StringBuilder(s.Length * 2);
                sb.Append(s, copied, i - copied).Append(' ').Append(s, i, len).Append(' ');
                copied = i + len;
            }
            i += len;
        }
        if (sb is null)
            return s;
        sb.Append(s, copied, s.Length - copied);
        return sb.ToString();
    }

    /// <summary>
    /// sacremoses <c>replace_multidots</c>: <c>re.sub(r"\.([\.]+)", r" DOTMULTI\1")</c>, then
    /// while "DOTMULTI." occurs: <c>re.sub(r"DOTMULTI\.([^\.])", r"DOTDOTMULTI \1")</c> and
    /// <c>re.sub(r"DOTMULTI\.", "DOTDOTMULTI")</c>.
    /// </summary>
    /// <remarks>
    /// The loop runs once per dot, which is quadratic on long dot runs; this computes its
    /// result in one pass. Every "DOTMULTI" marker absorbs the dots that follow it, one per
    /// round, each as a "DOT" in front; in the round where one dot is left, the first rule
    /// also puts a space before the following character, unless that character was the "D"
    /// of the next marker and the previous match of the same round consumed it (possible only
    /// when the text itself spells "DOTMULTI"), in which case the second rule takes the dot
    /// without a space.
    /// </remarks>
    internal static string ReplaceMultidots(string s)
    {
        s = MarkDotRuns(s);
        int p = s.IndexOf(DotMulti, StringComparison.Ordinal);
        if (p < 0)
            return s;
        var sb = new StringBuilder(s.Length + 16);
        int copied = 0;
        int previousDots = -1, previousEnd = -1;
        bool previousFired = false;
        while (p >= 0)
        {
            int end = p + DotMulti.Length;
            int dots = 0;
            while (end + dots < s.Length && s[end + dots] == '.')
                dots++;
            bool fires = false;
            if (dots > 0)
            {
                bool consumedByPrevious = previousFired && previousDots == dots && previousEnd == p;
                fires = end + dots < s.Length && !consumedByPrevious;
                sb.Append(s, copied, p - copied);
                for (int k = 0; k < dots; k++)
                    sb.Append("DOT");
                sb.Append(DotMulti);
                if (fires)
                    sb.Append(' ');
                copied = end + dots;
            }
            previousDots = dots;
            previousEnd = end + dots;
            previousFired = fires;
            p = s.IndexOf(DotMulti, end + dots, StringComparison.Ordinal);
        }
        sb.Append(s, copied, s.Length - copied);
        return sb.ToString();
    }

    // re.sub(r"\.([\.]+)", r" DOTMULTI\1"): a run of n >= 2 dots becomes " DOTMULTI" + n-1 dots.
    private static string MarkDotRuns(string s)
    {
        int i = s.IndexOf("..", StringComparison.Ordinal);
        if (i < 0)
            return s;
        var sb = new StringBuilder(s.Length + 16);
        int copied = 0;
        while (i >= 0)
        {
            int end = i;
            while (end < s.Length && s[end] == '.')
                end++;
            sb.Append(s, copied, i - copied).Append(' ').Append(DotMulti).Append('.', end - i - 1);
            copied = end;
            i = end < s.Length ? s.IndexOf("..", end, StringComparison.Ordinal) : -1;
        }
        sb.Append(s, copied, s.Length - copied);
        return sb.ToString();
    }

    /// <summary>
    /// sacremoses <c>restore_multidots</c>: while "DOTDOTMULTI" occurs replace it with
    /// "DOTMULTI.", then every "DOTMULTI" becomes ".". Net effect: "DOT" repeated k times
    /// followed by "MULTI" becomes k dots (computed in one pass).
    /// </summary>
    internal static string RestoreMultidots(string s)
    {
        int p = s.IndexOf(DotMulti, StringComparison.Ordinal);
        if (p < 0)
            return s;
        var sb = new StringBuilder(s.Length);
        int copied = 0;
        while (p >= 0)
        {
            int start = p;
            while (start - 3 >= copied && string.CompareOrdinal(s, start - 3, "DOT", 0, 3) == 0)
                start -= 3;
            int count = (p - start) / 3 + 1;
            sb.Append(s, copied, start - copied).Append('.', count);
            copied = p + DotMulti.Length;
            p = s.IndexOf(DotMulti, copied, StringComparison.Ordinal);
        }
        sb.Append(s, copied, s.Length - copied);
        return sb.ToString();
    }

    // re.sub(r"([{IsN}])[,]$", r"\1 , ")
    private string SeparateFinalCommaAfterNumber(string s)
    {
        if (s.Length < 2 || s[^1] != ',')
            return s;
        int cp = PythonText.CodePointBefore(s, s.Length - 1, out _);
        return _classes.IsN.Contains(cp) ? string.Concat(s.AsSpan(0, s.Length - 1), " , ") : s;
    }

    private string EnglishApostrophes(string s)
    {
        if (s.IndexOf('\'') < 0)
            return s;
        s = TextRules.ReplaceBetween(s, '\'', _notIsAlpha, _notIsAlpha, " ' ");
        s = TextRules.ReplaceBetween(s, '\'', _notIsAlphaNorIsN, _isAlpha, " ' ");
        s = TextRules.ReplaceBetween(s, '\'', _isAlpha, _notIsAlpha, " ' ");
        s = TextRules.ReplaceBetween(s, '\'', _isAlpha, _isAlpha, " '");
        return TextRules.ReplaceBetween(s, '\'', _isN, s_lowerS, " '");
    }

    private string FrenchItalianApostrophes(string s)
    {
        if (s.IndexOf('\'') < 0)
            return s;
        s = TextRules.ReplaceBetween(s, '\'', _notIsAlpha, _notIsAlpha, " ' ");
        s = TextRules.ReplaceBetween(s, '\'', _notIsAlpha, _isAlpha, " ' ");
        s = TextRules.ReplaceBetween(s, '\'', _isAlpha, _notIsAlpha, " ' ");
        return TextRules.ReplaceBetween(s, '\'', _isAlpha, _isAlpha, "' ");
    }

    /// <summary>
    /// sacremoses <c>handles_nonbreaking_prefixes</c>: splits the final period off words unless a
    /// rule keeps it. Works on the string in place of sacremoses' split and join (the caller
    /// collapses whitespace afterwards, which is all the join adds).
    /// </summary>
    private string HandleNonbreakingPrefixes(string s)
    {
        StringBuilder? sb = null;
        int copied = 0;
        // Only tokens that end with '.' can change: visit each '.' that ends a token.
        for (int dot = s.IndexOf('.'); dot >= 0; dot = dot + 1 < s.Length ? s.IndexOf('.', dot + 1) : -1)
        {
            int end = dot + 1;
            if (end < s.Length && !PythonText.IsWhitespace(s[end]))
                continue;
            int start = s.AsSpan(0, dot).LastIndexOfAny(PythonText.Whitespace) + 1;
            if (end - start >= 2 && !KeepsPeriod(s, start, end))
            {
                sb ??= new StringBuilder(s.Length + 16);
                sb.Append(s, copied, dot - copied).Append(" .");
                copied = end;
            }
        }
        if (sb is null)
            return s;
        sb.Append(s, copied, s.Length - copied);
        return sb.ToString();
    }

    // The token s[start..end) ends with '.'; prefix is the token without it.
    private bool KeepsPeriod(string s, int start, int end)
    {
        var prefix = s.AsSpan(start, end - 1 - start);
        if (prefix.Contains('.') && ContainsAlpha(prefix))
            return true;
        bool numericOnly = _numericOnlyLookup.Contains(prefix);
        if (_prefixLookup.Contains(prefix) && !numericOnly)
            return true;
        int next = end;
        while (next < s.Length && PythonText.IsWhitespace(s[next]))
            next++;
        if (next >= s.Length)
            return false;
        if (_classes.IsLower.Contains(PythonText.CodePointAt(s, next, out _)))
            return true;
        return numericOnly && (uint)(s[next] - '0') <= 9;
    }

    private bool ContainsAlpha(ReadOnlySpan<char> s)
    {
        int i = 0;
        while (i < s.Length)
        {
            if (_classes.IsAlpha.Contains(PythonText.CodePointAt(s, i, out int len)))
                return true;
            i += len;
        }
        return false;
    }

    // re.sub(r"\.' ?$", " . ' ")
    private static string SplitTrailingDotApostrophe(string s)
    {
        if (s.EndsWith(".'", StringComparison.Ordinal))
            return string.Concat(s.AsSpan(0, s.Length - 2), " . ' ");
        if (s.EndsWith(".' ", StringComparison.Ordinal))
            return string.Concat(s.AsSpan(0, s.Length - 3), " . ' ");
        return s;
    }
}
