using System.Text;

namespace XlmEdge.Tokenization;

/// <summary>
/// HF <c>replace_unicode_punct</c> (Moses replace-unicode-punctuation.perl): fullwidth and CJK
/// punctuation and digits become ASCII, <c>…</c> becomes <c>...</c>, <c>’</c> becomes <c>'</c>.
/// </summary>
/// <remarks>
/// HF applies one replacement after another; every source is a single character that no
/// other rule produces, and the two rules that also eat following whitespace
/// (<c>。\s*</c>, <c>．\s*</c>) only eat characters no rule maps, so one left-to-right pass
/// gives the same string.
/// </remarks>
internal static class UnicodePunctuation
{
    public static string Replace(string text)
    {
        int i = text.AsSpan().IndexOfAnyInRange('\u2019', '\uFFFF');
        if (i < 0)
            return text;
        while (i < text.Length && Map(text[i]) is null)
            i++;
        if (i == text.Length)
            return text;

        var sb = new StringBuilder(text.Length + 8);
        sb.Append(text, 0, i);
        while (i < text.Length)
        {
            char c = text[i];
            var mapped = Map(c);
            if (mapped is null)
            {
                sb.Append(c);
                i++;
                continue;
            }
            sb.Append(mapped);
            i++;
            if (c is '。' or '．')
            {
                while (i < text.Length && PythonText.IsWhitespace(text[i]))
                    i++;
            }
        }
        return sb.ToString();
    }

    private static readonly string[] s_digits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    private static string? Map(char c) => c switch
    {
        < '\u2019' => null,
        '，' => ",",
        '。' => ". ",
        '、' => ",",
        '”' => "\"",
        '“' => "\"",
        '∶' => ":",
        '：' => ":",
        '？' => "?",
        '《' => "\"",
        '》' => "\"",
        '）' => ")",
        '！' => "!",
        '（' => "(",
        '；' => ";",
        '」' => "\"",
        '「' => "\"",
        >= '０' and <= '９' => s_digits[c - '０'],
        '．' => ". ",
        '～' => "~",
        '’' => "'",
        '…' => "...",
        '━' => "-",
        '〈' => "<",
        '〉' => ">",
        '【' => "[",
        '】' => "]",
        '％' => "%",
        _ => null,
    };
}
