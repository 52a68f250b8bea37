using System.Globalization;
using System.Text;

namespace XlmEdge.Tokenization;

/// <summary>
/// The sacremoses 0.1.1 data embedded in this assembly (see MosesData/README.md): the
/// perluniprops character classes and the non-breaking prefix lists of its 38 languages.
/// </summary>
internal static class MosesResources
{
    private const string Prefix = "XlmEdge.MosesData.";

    /// <summary>The language whose prefix list sacremoses uses for a code it has no list for.</summary>
    public const string FallbackPrefixLanguage = "en";

    // sacremoses NonbreakingPrefixes.available_langs: every file's code, and the English name
    // that also selects it ("german" -> de). Any other language reads the English list.
    private static readonly Dictionary<string, string> s_prefixFiles = BuildPrefixFileTable(
        "assamese as", "bengali bn", "catalan ca", "czech cs", "german de", "greek el", "english en",
        "spanish es", "estonian et", "finnish fi", "french fr", "irish ga", "gujarati gu", "hindi hi",
        "hungarian hu", "icelandic is", "italian it", "kannada kn", "lithuanian lt", "latvian lv",
        "malayalam ml", "manipuri mni", "marathi mr", "dutch nl", "oriya or", "punjabi pa", "polish pl",
        "portuguese pt", "romanian ro", "russian ru", "slovak sk", "slovenian sl", "swedish sv",
        "tamil ta", "telugu te", "tetum tdt", "cantonese yue", "chinese zh");

    private static readonly Lazy<CharacterClasses> s_classes = new(() => LoadClasses(extraLetters: ""));
    private static readonly Lazy<CharacterClasses> s_koreanClasses = new(() => LoadClasses(ReadText("Hangul.txt")));

    /// <summary>The character classes MosesTokenizer uses for most languages, loaded once per process.</summary>
    public static CharacterClasses Classes => s_classes.Value;

    /// <summary>
    /// The classes <c>MosesTokenizer(language)</c> uses: for <c>ko</c>, sacremoses adds the
    /// perluniprops Hangul characters to IsAlnum and IsAlpha; every other language XlmEdge
    /// tokenizes uses the plain classes.
    /// </summary>
    public static CharacterClasses ClassesFor(string language) => language == "ko" ? s_koreanClasses.Value : s_classes.Value;

    /// <summary>IsAlnum and IsAlpha carry sacremoses' Indic virama and nukta additions.</summary>
    public sealed record CharacterClasses(CodePointSet IsAlnum, CodePointSet IsAlpha, CodePointSet IsN, CodePointSet IsLower);

    /// <summary>
    /// The code of the prefix list sacremoses reads for <paramref name="language"/>: its own when
    /// sacremoses has one (by code or English name), else <see cref="FallbackPrefixLanguage"/>,
    /// silently, as sacremoses does.
    /// </summary>
    public static string PrefixLanguageOf(string language) =>
        s_prefixFiles.TryGetValue(language, out var code) ? code : FallbackPrefixLanguage;

    /// <summary>The raw non-breaking prefix file sacremoses reads for <paramref name="language"/>.</summary>
    public static string NonbreakingPrefixes(string language) => ReadText("nonbreaking_prefix." + PrefixLanguageOf(language));

    /// <summary>The language codes sacremoses has a prefix list for.</summary>
    public static IReadOnlyCollection<string> PrefixLanguages { get; } = s_prefixFiles.Values.ToHashSet(StringComparer.Ordinal);

    private static Dictionary<string, string> BuildPrefixFileTable(params string[] nameAndCode)
    {
        var table = new Dictionary<string, string>(2 * nameAndCode.Length, StringComparer.Ordinal);
        foreach (var entry in nameAndCode)
        {
            var code = entry.Substring(entry.IndexOf(' ') + 1);
            table.Add(entry.Substring(0, entry.IndexOf(' ')), code);
            table.Add(code, code);
        }
        return table;
    }

    /// <summary>Languages that have an embedded non-breaking prefix file (to check the table against the files).</summary>
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

    // extraLetters: characters sacremoses appends to IsAlnum and IsAlpha for the language
    // (self.IsAlpha += ...; self.IsAlnum += ..., then PAD_NOT_ISALNUM is rebuilt from them).
    private static CharacterClasses LoadClasses(string extraLetters)
    {
        var alnum = LoadSet("IsAlnum.txt");
        var alpha = LoadSet("IsAlpha.txt");
        foreach (int cp in IndicAdditions())
        {
            alnum.Add(cp);
            alpha.Add(cp);
        }
        alnum.AddAll(extraLetters);
        alpha.AddAll(extraLetters);
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
