using System.Text;
using System.Text.RegularExpressions;

namespace XlmEdge.Tests.Tokenization;

/// <summary>
/// A second, deliberately literal port of sacremoses 0.1.1 (MosesPunctNormalizer.normalize and
/// MosesTokenizer.tokenize with escape off) and HF's replace_unicode_punct, written with .NET
/// <see cref="Regex"/> pattern for pattern. It is only valid for text inside the Basic
/// Multilingual Plane without U+001C..U+001F (there .NET regex and Python <c>re</c> agree once
/// <c>\s</c> is spelled out), and it is slow; the tests use it to check the hand-written
/// scanners on random text. The character classes are read from the data files directly.
/// </summary>
internal sealed class RegexTranscription
{
    // Python's \s (str.isspace) spelled out for .NET.
    private const string S = @"\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

    private static readonly string DataDir = Path.GetFullPath(Path.Combine(Fixtures.Root, "..", "..", "src", "XlmEdge", "Tokenization", "MosesData"));

    private readonly string _lang;
    private readonly List<(Regex, string)> _normalizer = [];
    private readonly string _isAlnum, _isAlpha, _isN, _isLower;
    private readonly HashSet<char> _alphaMembers;
    private readonly List<string> _prefixes = [];
    private readonly List<string> _numericOnly = [];

    public RegexTranscription(string lang)
    {
        _lang = lang;
        var indic = File.ReadAllLines(Path.Combine(DataDir, "indic_viramas_nuktas.txt"))
            .Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => char.ConvertFromUtf32(Convert.ToInt32(l.Split('\t')[1][2..], 16)))
            .Where(c => c.Length == 1);
        _isAlnum = ClassBody(ReadData("IsAlnum.txt") + string.Concat(indic));
        _isAlpha = ClassBody(ReadData("IsAlpha.txt") + string.Concat(indic));
        _alphaMembers = [.. ReadData("IsAlpha.txt") + string.Concat(indic)];
        _isN = ClassBody(ReadData("IsN.txt"));
        _isLower = ReadData("IsLower.txt");
        foreach (var line in ReadData("nonbreaking_prefix." + lang).Split('\n'))
        {
            var l = line.Trim();
            if (l.Length > 0 && !l.StartsWith('#'))
                _prefixes.Add(l);
        }
        foreach (var w in _prefixes)
        {
            if (Regex.IsMatch(w, "[" + S + @"]+(\#NUMERIC_ONLY\#)"))
                _numericOnly.Add(w.LastIndexOf(' ') is int k and >= 0 ? w[..k] : "");
        }

        void Add(string pattern, string replacement) => _normalizer.Add((new Regex(pattern), replacement));
        Add(@"\r", "");
        Add(@"\(", " (");
        Add(@"\)", ") ");
        Add(" +", " ");
        Add(@"\) ([.!:?;,])", ")$1");
        Add(@"\( ", "(");
        Add(@" \)", ")");
        Add(@"(\d) %", "$1%");
        Add(" :", ":");
        Add(" ;", ";");
        Add("`", "'");
        Add("''", " \" ");
        Add("„", "\"");
        Add("“", "\"");
        Add("”", "\"");
        Add("–", "-");
        Add("—", " - ");
        Add(" +", " ");
        Add("´", "'");
        Add("([a-zA-Z])‘([a-zA-Z])", "$1'$2");
        Add("([a-zA-Z])’([a-zA-Z])", "$1'$2");
        Add("‘", "'");
        Add("‚", "'");
        Add("’", "'");
        Add("''", "\"");
        Add("´´", "\"");
        Add("…", "...");
        Add("\u00A0«\u00A0", "\"");
        Add("«\u00A0", "\"");
        Add("«", "\"");
        Add("\u00A0»\u00A0", "\"");
        Add("\u00A0»", "\"");
        Add("»", "\"");
        Add("\u00A0%", "%");
        Add("nº\u00A0", "nº ");
        Add("\u00A0:", ":");
        Add("\u00A0ºC", " ºC");
        Add("\u00A0cm", " cm");
        Add("\u00A0\\?", "?");
        Add("\u00A0\\!", "!");
        Add("\u00A0;", ";");
        Add(",\u00A0", ", ");
        Add(" +", " ");
        if (lang == "en")
        {
            Add("\"([,.]+)", "$1\"");
        }
        else if (lang is "de" or "es" or "fr")
        {
            Add(",\"", "\",");
            Add(@"(\.+)""([" + S + @"]*[^<])", "\"$1$2");
        }
        if (lang is "de" or "es" or "cz" or "cs" or "fr")
            Add("(\\d)\u00A0(\\d)", "$1,$2");
        else
            Add("(\\d)\u00A0(\\d)", "$1.$2");
    }

    private static string ReadData(string file) => new UTF8Encoding(false).GetString(File.ReadAllBytes(Path.Combine(DataDir, file)));

    // BMP members only, each written as \uXXXX so that no member is special inside [...].
    private static string ClassBody(string members)
    {
        var sb = new StringBuilder();
        foreach (char c in members.Distinct())
        {
            if (!char.IsSurrogate(c))
                sb.Append("\\u").Append(((int)c).ToString("X4"));
        }
        return sb.ToString();
    }

    private readonly Dictionary<string, Regex> _compiled = [];

    private string Sub(string pattern, string replacement, string text)
    {
        if (!_compiled.TryGetValue(pattern, out var regex))
            _compiled[pattern] = regex = new Regex(pattern);
        return regex.Replace(text, replacement);
    }

    private static string PyStrip(string s) => Regex.Replace(s, "^[" + S + "]+|[" + S + "]+$", "");

    private static string[] PySplit(string s) => Regex.Split(PyStrip(s), "[" + S + "]+").Where(t => t.Length > 0).ToArray();

    public static string ReplaceUnicodePunct(string text)
    {
        (string, string)[] plain =
        [
            ("，", ","), ("、", ","), ("”", "\""), ("“", "\""), ("∶", ":"), ("：", ":"), ("？", "?"), ("《", "\""),
            ("》", "\""), ("）", ")"), ("！", "!"), ("（", "("), ("；", ";"), ("１", "1"), ("」", "\""), ("「", "\""),
            ("０", "0"), ("３", "3"), ("２", "2"), ("５", "5"), ("６", "6"), ("９", "9"), ("７", "7"), ("８", "8"), ("４", "4"),
        ];
        text = text.Replace("，", ",");
        text = Regex.Replace(text, "。[" + S + "]*", ". ");
        foreach (var (from, to) in plain.Skip(1))
            text = text.Replace(from, to);
        text = Regex.Replace(text, "．[" + S + "]*", ". ");
        (string, string)[] rest = [("～", "~"), ("’", "'"), ("…", "..."), ("━", "-"), ("〈", "<"), ("〉", ">"), ("【", "["), ("】", "]"), ("％", "%")];
        foreach (var (from, to) in rest)
            text = text.Replace(from, to);
        return text;
    }

    public string Normalize(string text)
    {
        foreach (var (regex, replacement) in _normalizer)
            text = regex.Replace(text, replacement);
        return PyStrip(text);
    }

    public string[] Tokenize(string text)
    {
        text = Sub("[" + S + "]+", " ", text);
        text = Sub(@"[\x00-\x1f]", "", text);
        text = PyStrip(text);
        text = Sub("([^" + _isAlnum + S + @"\.'`,\-])", " $1 ", text);
        text = Sub(@"\.([\.]+)", " DOTMULTI$1", text);
        while (Regex.IsMatch(text, @"DOTMULTI\."))
        {
            text = Sub(@"DOTMULTI\.([^\.])", "DOTDOTMULTI $1", text);
            text = Sub(@"DOTMULTI\.", "DOTDOTMULTI", text);
        }
        text = Sub("([^" + _isN + "])[,]", "$1 , ", text);
        text = Sub("[,]([^" + _isN + "])", " , $1", text);
        text = Sub("([" + _isN + "])[,]$", "$1 , ", text);
        string a = _isAlpha, n = _isN;
        if (_lang == "en")
        {
            text = Sub($"([^{a}])[']([^{a}])", "$1 ' $2", text);
            text = Sub($"([^{a}{n}])[']([{a}])", "$1 ' $2", text);
            text = Sub($"([{a}])[']([^{a}])", "$1 ' $2", text);
            text = Sub($"([{a}])[']([{a}])", "$1 '$2", text);
            text = Sub($"([{n}])[']([s])", "$1 '$2", text);
        }
        else if (_lang is "fr" or "it")
        {
            text = Sub($"([^{a}])[']([^{a}])", "$1 ' $2", text);
            text = Sub($"([^{a}])[']([{a}])", "$1 ' $2", text);
            text = Sub($"([{a}])[']([^{a}])", "$1 ' $2", text);
            text = Sub($"([{a}])[']([{a}])", "$1' $2", text);
        }
        else
        {
            text = Sub("'", " ' ", text);
        }

        var tokens = PySplit(text);
        for (int i = 0; i < tokens.Length; i++)
        {
            var m = Regex.Match(tokens[i], @"^([^" + S + @"]+)\.$");
            if (!m.Success)
                continue;
            var prefix = m.Groups[1].Value;
            if ((prefix.Contains('.') && prefix.Any(_alphaMembers.Contains))
                || (_prefixes.Contains(prefix) && !_numericOnly.Contains(prefix))
                || (i != tokens.Length - 1 && tokens[i + 1].Length > 0 && _isLower.Contains(tokens[i + 1][0])))
            {
            }
            else if (_numericOnly.Contains(prefix) && i + 1 < tokens.Length && Regex.IsMatch(tokens[i + 1], "^[0-9]+"))
            {
            }
            else
            {
                tokens[i] = prefix + " .";
            }
        }
        text = string.Join(" ", tokens);
        text = PyStrip(Sub("[" + S + "]+", " ", text));
        text = Sub(@"\.' ?$", " . ' ", text);
        while (Regex.IsMatch(text, "DOTDOTMULTI"))
            text = Sub("DOTDOTMULTI", "DOTMULTI.", text);
        text = Sub("DOTMULTI", ".", text);
        return PySplit(text);
    }
}
