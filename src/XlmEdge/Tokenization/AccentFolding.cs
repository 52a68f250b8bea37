using System.Globalization;
using System.Text;

namespace XlmEdge.Tokenization;

/// <summary>
/// HF <c>lowercase_and_remove_accent</c> (from the XLM authors' tools): Python
/// <c>lower()</c>, NFD, delete category Mn, <c>lower()</c> again.
/// </summary>
internal static class AccentFolding
{
    /// <summary>Folds one word. A space is neither cased nor case-ignorable, so folding words one by one equals folding their join.</summary>
    public static string Fold(string word)
    {
        var lower = PythonText.ToLower(word);
        bool ascii = true;
        foreach (char c in lower)
        {
            if (c >= 0x80)
            {
                ascii = false;
                break;
            }
        }
        if (ascii)
            return lower;

        var decomposed = lower.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(decomposed.Length);
        for (int i = 0; i < decomposed.Length;)
        {
            int cp = PythonText.CodePointAt(decomposed, i, out int len);
            if (CharUnicodeInfo.GetUnicodeCategory(cp) != UnicodeCategory.NonSpacingMark)
                sb.Append(decomposed, i, len);
            i += len;
        }
        return PythonText.ToLower(sb.ToString());
    }

    /// <summary>The stage as HF writes it: join with " ", fold, split on " " (empty items included).</summary>
    public static string[] LowercaseAndRemoveAccent(IReadOnlyList<string> tokens) =>
        Fold(string.Join(' ', tokens)).Split(' ');
}
