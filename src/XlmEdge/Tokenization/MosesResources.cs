using System.Globalization;
using System.Text;

namespace XlmEdge.Tokenization;

/// <summary>
/// The sacremoses 0.1.1 data embedded in this assembly (see MosesData/README.md): the
/// perluniprops character classes and the per-language non-breaking prefix lists.
/// </summary>
internal static class MosesResources
{
    private const string Prefix = "XlmEdge.MosesData.";

    private static readonly Lazy<CharacterClasses> s_classes = new(LoadClasses);

    /// <summary>The character classes MosesTokenizer uses, loaded once per process.</summary>
    public static CharacterClasses Classes => s_classes.Value;

    /// <summary>IsAlnum and IsAlpha carry sacremoses' Indic virama and nukta additions.</summary>
    public sealed record CharacterClasses(CodePointSet IsAlnum, CodePointSet IsAlpha, CodePointSet IsN, CodePointSet IsLower);

    /// <summary>The raw non-breaking prefix file of a language, or null when none is embedded.</summary>
    public static string? TryReadNonbreakingPrefixes(string language) => TryReadText("nonbreaking_prefix." + language);

    /// <summary>Languages that have an embedded non-breaking prefix file.</summary>
    public static IReadOnlyList<string> LanguagesWithPrefixes()
    {
        var found = new List<string>();
        foreach (var name in typeof(MosesResources).Assembly.GetManifestResourceNames())
        {
            if (name.StartsWith(Prefix + "nonbreaking_prefix.", StringComparison.Ordinal))
                found.Add(name.Substring(Prefix.Length + "nonbreaking_prefix.".Length));
        }
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    private static CharacterClasses LoadClasses()
    {
        var alnum = LoadSet("IsAlnum.txt");
        var alpha = LoadSet("IsAlpha.txt");
        foreach (int cp in IndicAdditions())
        {
            alnum.Add(cp);
            alpha.Add(cp);
        }
        return new CharacterClasses(alnum, alpha, LoadSet("IsN.txt"), LoadSet("IsLower.txt"));
    }

    private static CodePointSet LoadSet(string file)
    {
        var set = new CodePointSet();
        set.AddAll(ReadText(file));
        return set;
    }

    // Lines "KIND<TAB>U+XXXX<TAB>name"; '#' starts a comment line.
    private static IEnumerable<int> IndicAdditions()
    {
        foreach (var line in PythonText.SplitLines(ReadText("indic_viramas_nuktas.txt")))
        {
            if (line.Length == 0 || line[0] == '#')
                continue;
            var fields = line.Split('\t');
            if (fields.Length < 2 || !fields[1].StartsWith("U+", StringComparison.Ordinal)
                || !int.TryParse(fields[1].AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int cp))
                throw new InvalidOperationException("malformed line in embedded indic_viramas_nuktas.txt: " + line);
            yield return cp;
        }
    }

    private static string ReadText(string file) =>
        TryReadText(file) ?? throw new InvalidOperationException("embedded Moses resource missing: " + file);

    // Decoded like Python's bytes.decode("utf-8"): a byte order mark would stay a character.
    private static string? TryReadText(string file)
    {
        using var stream = typeof(MosesResources).Assembly.GetManifestResourceStream(Prefix + file);
        if (stream is null)
            return null;
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return new UTF8Encoding(false, true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
