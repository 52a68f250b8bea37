using System.Buffers;
using System.Text;

namespace XlmEdge.Tokenization;

/// <summary>
/// sacremoses 0.1.1 <c>MosesPunctNormalizer(lang)</c> with its defaults (penn, quote-comma
/// and number normalisation on; no unicode-punctuation pre-pass, no control-character
/// post-pass), then <c>strip()</c>: a port of Moses normalize-punctuation.perl.
/// </summary>
/// <remarks>
/// The substitutions run in sacremoses' order, each with <c>re.sub</c> semantics. The
/// language only chooses which quote/comma and number rules apply, from the same language
/// lists as sacremoses.
/// </remarks>
internal sealed class MosesPunctNormalizer
{
    private static readonly HashSet<string> s_quoteCommaBeforeQuote = ["de", "es", "fr"];
    private static readonly HashSet<string> s_decimalComma = ["de", "es", "cz", "cs", "fr"];

    private static readonly SearchValues<char> s_unicodeTriggers = SearchValues.Create("„“”–—´‘’‚…«»\u00A0");

    private static readonly Func<int, bool> s_closingParenthesis = cp => cp == ')';
    private static readonly Func<int, bool> s_afterParenthesis = cp => cp is '.' or '!' or ':' or '?' or ';' or ',';
    private static readonly Func<int, bool> s_digit = PythonText.IsDecimalDigit;
    private static readonly Func<int, bool> s_percent = cp => cp == '%';
    private static readonly Func<int, bool> s_asciiLetter = cp => (uint)((cp | 0x20) - 'a') <= 'z' - 'a';

    private readonly bool _englishQuoteComma;
    private readonly bool _europeanQuoteComma;
    private readonly string _digitGroupSeparator;

    public MosesPunctNormalizer(string language)
    {
        _englishQuoteComma = language == "en";
        _europeanQuoteComma = s_quoteCommaBeforeQuote.Contains(language);
        _digitGroupSeparator = s_decimalComma.Contains(language) ? "," : ".";
    }

    public string Normalize(string text)
    {
        // Every rule of the unicode groups (and the number rule) needs one of s_unicodeTriggers,
        // and the parenthesis rules need a parenthesis; no rule writes any of those characters, so
        // the rules can be skipped for the whole text when it has none (the common case).
        bool parentheses = text.AsSpan().ContainsAny('(', ')');
        bool nonAscii = text.AsSpan().ContainsAny(s_unicodeTriggers);

        // EXTRA_WHITESPACE
        text = text.Replace("\r", "", StringComparison.Ordinal);
        if (parentheses)
        {
            text = text.Replace("(", " (", StringComparison.Ordinal);
            text = text.Replace(")", ") ", StringComparison.Ordinal);
        }
        text = TextRules.CollapseSpaces(text);
        if (parentheses)
        {
            text = TextRules.ReplaceBetween(text, ' ', s_closingParenthesis, s_afterParenthesis, "");
            text = text.Replace("( ", "(", StringComparison.Ordinal);
            text = text.Replace(" )", ")", StringComparison.Ordinal);
        }
        text = TextRules.ReplaceBetween(text, ' ', s_digit, s_percent, "");
        text = text.Replace(" :", ":", StringComparison.Ordinal);
        text = text.Replace(" ;", ";", StringComparison.Ordinal);

        // NORMALIZE_UNICODE_IF_NOT_PENN (sacremoses inserts it when penn is true)
        text = text.Replace("`", "'", StringComparison.Ordinal);
        text = text.Replace("''", " \" ", StringComparison.Ordinal);

        if (nonAscii)
        {
            text = NormalizeUnicodeQuotesAndSpaces(text);
        }
        else
        {
            // All those groups do to text without their triggers: collapse spaces (twice; once is enough) and '' -> ".
            text = TextRules.CollapseSpaces(text);
            text = text.Replace("''", "\"", StringComparison.Ordinal);
        }

        if (_englishQuoteComma)
        {
            text = MoveQuoteAfterCommasAndPeriods(text);
        }
        else if (_europeanQuoteComma)
        {
            text = text.Replace(",\"", "\",", StringComparison.Ordinal);
            text = MoveQuoteBeforePeriods(text);
        }

        if (nonAscii)
            text = ReplaceDigitSeparatedSpace(text, _digitGroupSeparator);
        return PythonText.Strip(text);
    }

    // NORMALIZE_UNICODE, FRENCH_QUOTES and HANDLE_PSEUDO_SPACES.
    private static string NormalizeUnicodeQuotesAndSpaces(string text)
    {
        text = text.Replace("„", "\"", StringComparison.Ordinal);
        text = text.Replace("“", "\"", StringComparison.Ordinal);
        text = text.Replace("”", "\"", StringComparison.Ordinal);
        text = text.Replace("–", "-", StringComparison.Ordinal);
        text = text.Replace("—", " - ", StringComparison.Ordinal);
        text = TextRules.CollapseSpaces(text);
        text = text.Replace("´", "'", StringComparison.Ordinal);
        text = TextRules.ReplaceBetween(text, '‘', s_asciiLetter, s_asciiLetter, "'");
        text = TextRules.ReplaceBetween(text, '’', s_asciiLetter, s_asciiLetter, "'");
        text = text.Replace("‘", "'", StringComparison.Ordinal);
        text = text.Replace("‚", "'", StringComparison.Ordinal);
        text = text.Replace("’", "'", StringComparison.Ordinal);
        text = text.Replace("''", "\"", StringComparison.Ordinal);
        text = text.Replace("´´", "\"", StringComparison.Ordinal);
        text = text.Replace("…", "...", StringComparison.Ordinal);

        // FRENCH_QUOTES
        text = text.Replace("\u00A0«\u00A0", "\"", StringComparison.Ordinal);
        text = text.Replace("«\u00A0", "\"", StringComparison.Ordinal);
        text = text.Replace("«", "\"", StringComparison.Ordinal);
        text = text.Replace("\u00A0»\u00A0", "\"", StringComparison.Ordinal);
        text = text.Replace("\u00A0»", "\"", StringComparison.Ordinal);
        text = text.Replace("»", "\"", StringComparison.Ordinal);

        // HANDLE_PSEUDO_SPACES
        text = text.Replace("\u00A0%", "%", StringComparison.Ordinal);
        text = text.Replace("nº\u00A0", "nº ", StringComparison.Ordinal);
        text = text.Replace("\u00A0:", ":", StringComparison.Ordinal);
        text = text.Replace("\u00A0ºC", " ºC", StringComparison.Ordinal);
        text = text.Replace("\u00A0cm", " cm", StringComparison.Ordinal);
        text = text.Replace("\u00A0?", "?", StringComparison.Ordinal);
        text = text.Replace("\u00A0!", "!", StringComparison.Ordinal);
        text = text.Replace("\u00A0;", ";", StringComparison.Ordinal);
        text = text.Replace(",\u00A0", ", ", StringComparison.Ordinal);
        return TextRules.CollapseSpaces(text);
    }

    // re.sub(r'"([,.]+)', r'\1"')
    private static string MoveQuoteAfterCommasAndPeriods(string s)
    {
        int q = s.IndexOf('"');
        if (q < 0)
            return s;
        StringBuilder? sb = null;
        int copied = 0;
        while (q >= 0)
        {
            int end = q + 1;
            while (end < s.Length && s[end] is ',' or '.')
                end++;
            if (end > q + 1)
            {
                sb ??= new StringBuilder(s.Length);
                sb.Append(s, copied, q - copied).Append(s, q + 1, end - q - 1).Append('"');
                copied = end;
            }
            q = end < s.Length ? s.IndexOf('"', end) : -1;
        }
        if (sb is null)
            return s;
        sb.Append(s, copied, s.Length - copied);
        return sb.ToString();
    }

    // re.sub(r'(\.+)"(\s*[^<])', r'"\1\2'): dots right before a quote move behind it unless
    // the quote ends the text or is followed (after any whitespace) by '<'.
    private static string MoveQuoteBeforePeriods(string s)
    {
        int i = s.IndexOf('.');
        if (i < 0)
            return s;
        StringBuilder? sb = null;
        int copied = 0;
        while (i >= 0)
        {
            int dotsEnd = i;
            while (dotsEnd < s.Length && s[dotsEnd] == '.')
                dotsEnd++;
            int next = dotsEnd;
            if (dotsEnd < s.Length && s[dotsEnd] == '"')
            {
                int tail = dotsEnd + 1;
                int ws = tail;
                while (ws < s.Length && PythonText.IsWhitespace(s[ws]))
                    ws++;
                int matchEnd = -1;
                if (ws < s.Length && s[ws] != '<')
                {
                    PythonText.CodePointAt(s, ws, out int len);
                    matchEnd = ws + len;
                }
                else if (ws > tail)
                {
                    matchEnd = ws; // \s* gives back its last character to [^<]
                }
                if (matchEnd >= 0)
                {
                    sb ??= new StringBuilder(s.Length);
                    sb.Append(s, copied, i - copied).Append('"').Append(s, i, dotsEnd - i).Append(s, tail, matchEnd - tail);
                    copied = next = matchEnd;
                }
            }
            i = next < s.Length ? s.IndexOf('.', next) : -1;
        }
        if (sb is null)
            return s;
        sb.Append(s, copied, s.Length - copied);
        return sb.ToString();
    }

    // re.sub("(\d)\u00A0(\d)", r"\1<separator>\2")
    private static string ReplaceDigitSeparatedSpace(string s, string separator) =>
        TextRules.ReplaceBetween(s, '\u00A0', s_digit, s_digit, separator);
}
