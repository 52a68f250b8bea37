using System.Buffers;

namespace XlmEdge.Tokenization;

/// <summary>
/// HF <c>romanian_preprocessing</c> (Sennrich's WMT16 normalise-romanian and remove-diacritics),
/// which <c>XLMTokenizer</c> applies to Romanian text between the Moses pipeline and the Moses
/// tokenizer: cedilla Ş ş Ţ ţ become comma-below Ș ș Ț ț, then Ș ș Ț ț Ă ă Â â Î î lose their
/// diacritic. Only these precomposed characters change (a base letter followed by a combining
/// mark is left alone, as in HF).
/// </summary>
internal static class RomanianPreprocessing
{
    /// <summary>The language code the preprocessing applies to (HF tests <c>lang == "ro"</c>).</summary>
    public const string Language = "ro";

    // Each of HF's str.replace calls maps one character; the cedilla forms reach the same letter
    // through their comma-below form, so one pass of a character map is the whole chain.
    private const string From = "\u015E\u015F\u0162\u0163\u0218\u0219\u021A\u021B\u0102\u0103\u00C2\u00E2\u00CE\u00EE";
    private const string To = "SsTtSsTtAaAaIi";

    private static readonly SearchValues<char> s_from = SearchValues.Create(From);

    /// <summary>The text with Romanian diacritics removed.</summary>
    public static string Apply(string text)
    {
        int first = text.AsSpan().IndexOfAny(s_from);
        if (first < 0)
            return text;
        return string.Create(text.Length, (text, first), static (span, state) =>
        {
            state.text.AsSpan().CopyTo(span);
            for (int i = state.first; i < span.Length; i++)
            {
                int k = From.IndexOf(span[i]);
                if (k >= 0)
                    span[i] = To[k];
            }
        });
    }
}
