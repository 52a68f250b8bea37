using System.Globalization;
using System.Text;

namespace XlmEdge.Tokenization;

/// <summary>
/// HF <c>lowercase_and_remove_accent</c> (from the XLM authors' tools): Python
/// <c>lower()</c>, NFD, delete category Mn, <c>lower()</c> again.
/// </summary>
/// <remarks>
/// NFD runs on the tables in UnicodeData/AccentFoldingData.g.cs (Unicode 15.0, the version of the
/// ICU that <see cref="string.Normalize(NormalizationForm)"/> uses on Debian 12), not on
/// <see cref="string.Normalize(NormalizationForm)"/>: with invariant globalization (trimmed AOT apps,
/// small devices without ICU) that call leaves text unchanged, and 8 of 43 fill-mask golden texts then
/// tokenized differently without any error. Casing and categories come from .NET's own tables, which
/// do not depend on ICU either.
/// </remarks>
internal static partial class AccentFolding
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

        var decomposed = Decompose(lower);
        var sb = new StringBuilder(lower.Length);
        foreach (int cp in decomposed)
        {
            if (cp > 0xFFFF || !char.IsSurrogate((char)cp))
            {
                if (CharUnicodeInfo.GetUnicodeCategory(cp) != UnicodeCategory.NonSpacingMark)
                    sb.Append(char.ConvertFromUtf32(cp));
            }
            else
            {
                sb.Append((char)cp); // a lone surrogate passes through, as in Python
            }
        }
        return PythonText.ToLower(sb.ToString());
    }

    /// <summary>The stage as HF writes it: join with " ", fold, split on " " (empty items included).</summary>
    public static string[] LowercaseAndRemoveAccent(IReadOnlyList<string> tokens) =>
        Fold(string.Join(' ', tokens)).Split(' ');

    /// <summary>Canonical decomposition (NFD) of <paramref name="s"/> as code points: every code point
    /// fully decomposed, then each run of nonzero combining classes put in stable class order.</summary>
    internal static List<int> Decompose(string s)
    {
        var result = new List<int>(s.Length + 8);
        for (int i = 0; i < s.Length;)
        {
            int cp = PythonText.CodePointAt(s, i, out int len);
            i += len;
            if (cp is >= HangulFirst and <= HangulLast)
            {
                // Hangul syllables decompose by arithmetic (Unicode 3.12), not by table.
                int index = cp - HangulFirst;
                result.Add(0x1100 + index / (21 * 28));
                result.Add(0x1161 + index % (21 * 28) / 28);
                if (index % 28 != 0)
                    result.Add(0x11A7 + index % 28);
                continue;
            }
            int key = DecomposedCodePoints.BinarySearch(cp);
            if (key < 0)
            {
                result.Add(cp);
                continue;
            }
            for (int k = DecompositionStarts[key]; k < DecompositionStarts[key + 1]; k++)
                result.Add(Decompositions[k]);
        }
        // Canonical ordering: a stable insertion sort by class inside each run of nonzero classes.
        for (int i = 1; i < result.Count; i++)
        {
            int cp = result[i];
            int ccc = CombiningClass(cp);
            if (ccc == 0)
                continue;
            int j = i;
            while (j > 0 && CombiningClass(result[j - 1]) > ccc)
            {
                result[j] = result[j - 1];
                j--;
            }
            result[j] = cp;
        }
        return result;
    }

    /// <summary>The canonical combining class of <paramref name="cp"/> (0 for most code points).</summary>
    internal static int CombiningClass(int cp)
    {
        var runs = CombiningClassRuns;
        int lo = 0, hi = runs.Length / 3 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (cp < runs[3 * mid])
                hi = mid - 1;
            else if (cp > runs[3 * mid + 1])
                lo = mid + 1;
            else
                return runs[3 * mid + 2];
        }
        return 0;
    }

    private const int HangulFirst = 0xAC00, HangulLast = 0xD7A3;
}
