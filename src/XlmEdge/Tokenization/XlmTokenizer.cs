using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using XlmEdge.Model;
using XlmEdge.Weights;

namespace XlmEdge.Tokenization;

/// <summary>
/// The XLM tokenizer, identical to Hugging Face's <c>XLMTokenizer</c> over sacremoses 0.1.1, with
/// the language passed to Moses as the XLM authors' pipeline does.
/// </summary>
/// <remarks>
/// <para>Pipeline: the text is split on special tokens written literally (<c>&lt;s&gt;</c>,
/// <c>&lt;/s&gt;</c>, <c>&lt;pad&gt;</c>, <c>&lt;unk&gt;</c>, <c>&lt;special0&gt;</c> to
/// <c>&lt;special9&gt;</c>; exact and case-sensitive, even inside a word), which map straight to
/// their ids. Every other piece goes through unicode punctuation replacement, the Moses
/// punctuation normalizer, deletion of characters of category C*, for Romanian (<c>ro</c>) the
/// removal of its diacritics, the Moses tokenizer, then (when the model lowercases) lowercasing
/// with accent removal, and byte-pair encoding.</para>
/// <para>Languages: Moses rules come from the language code, exactly as in sacremoses: the
/// non-breaking prefix list of the code for the 38 languages sacremoses ships one for, and the
/// English list, silently, for any other code (so <c>ar</c> or <c>zh_yue</c> tokenize with
/// English prefixes, as in Hugging Face). <c>zh</c>, <c>th</c> and <c>ja</c> are refused with
/// <see cref="InvalidInputException"/>: Hugging Face segments them with jieba, PyThaiNLP and
/// KyTea, which XlmEdge does not include; so is sacremoses' <c>cjk</c> mode, whose Han and kana
/// tables are not bundled. Such a model still runs on ids tokenized elsewhere.</para>
/// <para>Thread safety: all members may be called concurrently from several threads. The
/// per-word cache (Moses token to BPE tokens and ids) is a bounded concurrent dictionary.</para>
/// <para>Input is limited to <see cref="MaxTextLength"/> UTF-16 code units per call; longer
/// text is rejected with <see cref="InvalidInputException"/> before any work.</para>
/// <para>Unicode properties (categories, case mappings, NFD) come from .NET, whose Unicode
/// version is newer than the reference's (Python 3.11, Unicode 14.0): text with characters
/// assigned after Unicode 14.0 can tokenize differently (the reference deletes them as
/// unassigned).</para>
/// </remarks>
public sealed class XlmTokenizer
{
    /// <summary>The longest text, in UTF-16 code units, that one call accepts.</summary>
    public const int MaxTextLength = 1_000_000;

    private const int MaxCachedWordLength = 64;
    private const int MaxCacheEntries = 100_000;

    private static readonly string[] s_specialTokens =
    [
        "<s>", "</s>", "<pad>", "<unk>",
        "<special0>", "<special1>", "<special2>", "<special3>", "<special4>",
        "<special5>", "<special6>", "<special7>", "<special8>", "<special9>",
    ];

    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;
    private readonly int[] _specialIds;
    private readonly string[] _languages;
    private readonly bool _lowercase;
    private readonly BytePairEncoder _bpe;
    private readonly Lazy<LanguagePipeline>[] _pipelines;
    private readonly ConcurrentDictionary<string, EncodedWord> _wordCache = new(StringComparer.Ordinal);
#if NET9_0_OR_GREATER
    private readonly ConcurrentDictionary<string, EncodedWord>.AlternateLookup<ReadOnlySpan<char>> _wordCacheLookup;
#else
    private readonly SpanKeyedLookup<EncodedWord> _wordCacheLookup;
#endif
    private int _wordCacheCount;

    private sealed record LanguagePipeline(MosesPunctNormalizer Normalizer, MosesTokenizer Moses, bool Romanian);

    // HF XLMTokenizer.lang_with_custom_tokenizer, plus sacremoses' cjk mode (see the remarks).
    private static readonly Dictionary<string, string> s_unsupported = new(StringComparer.Ordinal)
    {
        ["zh"] = "Hugging Face's XLMTokenizer segments Chinese with jieba",
        ["th"] = "Hugging Face's XLMTokenizer segments Thai with PyThaiNLP",
        ["ja"] = "Hugging Face's XLMTokenizer segments Japanese with KyTea",
        ["cjk"] = "sacremoses' cjk mode needs its Han and kana tables",
    };

    private sealed record EncodedWord(string[] Tokens, int[] Ids);

    // What a Moses token made only of combining marks folds to.
    private static readonly EncodedWord s_nothing = new([], []);

    /// <summary>Builds the tokenizer from the model's vocabulary, merges and languages.</summary>
    /// <param name="tokens">Token strings by id.</param>
    /// <param name="merges">BPE merges, "first second", in rank order.</param>
    /// <param name="languages">Language codes by language id.</param>
    /// <param name="doLowercaseAndRemoveAccent">Whether words are lowercased and stripped of accents before BPE.</param>
    /// <exception cref="ModelFileException">A special token is missing, a token repeats, or a language repeats.</exception>
    internal XlmTokenizer(IReadOnlyList<string> tokens, IReadOnlyList<string> merges, IReadOnlyList<string> languages, bool doLowercaseAndRemoveAccent)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(merges);
        ArgumentNullException.ThrowIfNull(languages);

        _tokens = new string[tokens.Count];
        _ids = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        for (int id = 0; id < tokens.Count; id++)
        {
            var token = tokens[id] ?? throw new ModelFileException($"vocabulary entry {id} is null");
            if (!_ids.TryAdd(token, id))
                throw new ModelFileException($"vocabulary token '{token}' appears twice (ids {_ids[token]} and {id})");
            _tokens[id] = token;
        }

        BosId = RequiredId("<s>");
        EosId = RequiredId("</s>");
        PadId = RequiredId("<pad>");
        UnkId = RequiredId("<unk>");
        MaskId = RequiredId("<special1>");
        _specialIds = Array.ConvertAll(s_specialTokens, IdOf);

        _languages = new string[languages.Count];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < languages.Count; i++)
        {
            var language = languages[i] ?? throw new ModelFileException($"language {i} is null");
            if (!seen.Add(language))
                throw new ModelFileException($"language '{language}' is listed twice");
            _languages[i] = language;
        }
        Languages = Array.AsReadOnly(_languages);

        _lowercase = doLowercaseAndRemoveAccent;
#if NET9_0_OR_GREATER
        _wordCacheLookup = _wordCache.GetAlternateLookup<ReadOnlySpan<char>>();
#else
        _wordCacheLookup = new(_wordCache);
#endif
        _bpe = new BytePairEncoder(merges);
        _pipelines = new Lazy<LanguagePipeline>[_languages.Length];
        for (int i = 0; i < _languages.Length; i++)
        {
            var language = _languages[i];
            _pipelines[i] = new Lazy<LanguagePipeline>(() => CreatePipeline(language));
        }
    }

    /// <summary>Language codes by language id.</summary>
    public IReadOnlyList<string> Languages { get; }

    /// <summary>Number of tokens in the vocabulary.</summary>
    public int VocabularySize => _tokens.Length;

    /// <summary>Id of the mask token <c>&lt;special1&gt;</c>.</summary>
    public int MaskId { get; }

    /// <summary>Id of <c>&lt;s&gt;</c>, which starts every model input.</summary>
    public int BosId { get; }

    /// <summary>Id of <c>&lt;/s&gt;</c>, which ends every model input.</summary>
    public int EosId { get; }

    /// <summary>Id of <c>&lt;pad&gt;</c>.</summary>
    public int PadId { get; }

    /// <summary>Id of <c>&lt;unk&gt;</c>, given to every unit that is not in the vocabulary.</summary>
    public int UnkId { get; }

    /// <summary>The token string of <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not in the vocabulary.</exception>
    public string TokenOf(int id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, _tokens.Length);
        return _tokens[id];
    }

    /// <summary>
    /// The token decoded for display, as Hugging Face's <c>tokenizer.decode([id])</c> gives it (the
    /// pipeline's <c>token_str</c>): the unit without its <c>&lt;/w&gt;</c>; special tokens as they are written.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not in the vocabulary.</exception>
    public string TokenString(int id) => PythonText.Strip(TokenOf(id).Replace(BytePairEncoder.EndOfWord, " ", StringComparison.Ordinal));

    /// <summary>The id of a vocabulary entry spelled exactly <paramref name="token"/> (e.g. <c>"paris&lt;/w&gt;"</c>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="token"/> is null.</exception>
    public bool TryGetId(string token, out int id)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _ids.TryGetValue(token, out id);
    }

    /// <summary>Whether <paramref name="token"/> is one of the special token strings (&lt;s&gt;, &lt;/s&gt;, &lt;pad&gt;, &lt;unk&gt;, &lt;special0&gt;..&lt;special9&gt;).</summary>
    internal static bool IsSpecialToken(string token) => Array.IndexOf(s_specialTokens, token) >= 0;

    /// <summary>Whether <paramref name="id"/> is one of the special tokens (&lt;s&gt;, &lt;/s&gt;, &lt;pad&gt;, &lt;unk&gt;, &lt;special0&gt;..&lt;special9&gt;).</summary>
    public bool IsSpecial(int id) => Array.IndexOf(_specialIds, id) >= 0;

    /// <summary>The id of <paramref name="language"/> in this model.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="language"/> is null.</exception>
    /// <exception cref="InvalidInputException">The model has no such language.</exception>
    public int LanguageIdOf(string language)
    {
        ArgumentNullException.ThrowIfNull(language);
        int id = Array.IndexOf(_languages, language);
        if (id < 0)
            throw new InvalidInputException($"unsupported language '{language}'; this model has: {string.Join(", ", _languages)}");
        return id;
    }

    /// <summary>Tokenizes <paramref name="text"/> for <paramref name="language"/>.</summary>
    /// <returns>The BPE tokens and the model input ids (framed by <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c>).</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="InvalidInputException">The model has no such language, or the text is longer than <see cref="MaxTextLength"/>.</exception>
    public TokenizedText Encode(string text, string language)
    {
        ArgumentNullException.ThrowIfNull(text);
        int languageId = LanguageIdOf(language);
        CheckLength(text);
        var tokens = new List<string>();
        var ids = new List<int> { BosId };
        Tokenize(text, languageId, tokens, ids);
        ids.Add(EosId);
        return new TokenizedText([.. tokens], [.. ids], _languages[languageId], languageId);
    }

    /// <summary>
    /// The allocation-lean path for the model: appends <c>&lt;s&gt;</c>, the text's ids and
    /// <c>&lt;/s&gt;</c> to <paramref name="idsOut"/> (nothing is appended when it throws).
    /// Token strings are not materialized; words already seen come from the cache.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="languageId"/> is not a language id of the model.</exception>
    /// <exception cref="InvalidInputException">The text is longer than <see cref="MaxTextLength"/>.</exception>
    internal void EncodeIds(string text, int languageId, List<int> idsOut)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(idsOut);
        ArgumentOutOfRangeException.ThrowIfNegative(languageId);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(languageId, _languages.Length);
        CheckLength(text);
        int start = idsOut.Count;
        try
        {
            idsOut.Add(BosId);
            Tokenize(text, languageId, null, idsOut);
            idsOut.Add(EosId);
        }
        catch
        {
            idsOut.RemoveRange(start, idsOut.Count - start);
            throw;
        }
    }

    /// <summary>
    /// Text for display, as HF's <c>convert_tokens_to_string</c>: tokens joined, <c>&lt;/w&gt;</c>
    /// replaced by a space, whitespace trimmed. <c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c> and
    /// <c>&lt;pad&gt;</c> are skipped.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in the vocabulary.</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var sb = new StringBuilder();
        foreach (int id in ids)
        {
            if (id == BosId || id == EosId || id == PadId)
                continue;
            sb.Append(TokenOf(id));
        }
        return PythonText.Strip(sb.Replace(BytePairEncoder.EndOfWord, " ").ToString());
    }

    /// <summary>
    /// Loads only the tokenizer of a GGUF model file made by <c>xlmedge-weights pack</c> (vocabulary,
    /// merges, languages): the network is not bound, and the file is closed on return.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelFileException">The file is malformed or not an XLM model.</exception>
    public static XlmTokenizer Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = GgufFile.Open(path);
        try
        {
            return ModelMetadata.Read(file).Validate().Tokenizer;
        }
        catch (ModelFileException e)
        {
            throw new ModelFileException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Reads a Hugging Face vocab.json (escaped or raw UTF-8) and merges.txt the way
    /// <c>XLMTokenizer.__init__</c> does.
    /// </summary>
    /// <exception cref="ModelFileException">A file is malformed.</exception>
    internal static XlmTokenizer FromHfFiles(string vocabJsonPath, string mergesTxtPath, IReadOnlyList<string> languages, bool lowercase)
    {
        ArgumentNullException.ThrowIfNull(vocabJsonPath);
        ArgumentNullException.ThrowIfNull(mergesTxtPath);
        return new XlmTokenizer(ReadVocabJson(vocabJsonPath), ReadMergesTxt(mergesTxtPath), languages, lowercase);
    }

    private static string[] ReadVocabJson(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelFileException($"{path}: the top level is not a JSON object");
            var entries = new List<(string Token, int Id)>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt32(out int id))
                    throw new ModelFileException($"{path}: the id of '{property.Name}' is not an integer");
                entries.Add((property.Name, id));
            }
            var tokens = new string?[entries.Count];
            foreach (var (token, id) in entries)
            {
                if (id < 0 || id >= tokens.Length)
                    throw new ModelFileException($"{path}: id {id} of '{token}' is outside 0..{tokens.Length - 1}");
                if (tokens[id] is not null)
                    throw new ModelFileException($"{path}: id {id} is given to both '{tokens[id]}' and '{token}'");
                tokens[id] = token;
            }
            return tokens!;
        }
        catch (JsonException e)
        {
            throw new ModelFileException($"{path}: not valid JSON ({e.Message})", e);
        }
        catch (InvalidOperationException e)
        {
            throw new ModelFileException($"{path}: unreadable token string ({e.Message})", e);
        }
    }

    // HF: open(..., encoding="utf-8").read().split("\n")[:-1]; text mode turns \r\n and \r into \n.
    private static string[] ReadMergesTxt(string path)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(File.ReadAllBytes(path));
        }
        catch (DecoderFallbackException e)
        {
            throw new ModelFileException($"{path}: not valid UTF-8", e);
        }
        text = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        var lines = text.Split('\n');
        return lines[..^1];
    }

    /// <summary>
    /// The text split at special tokens: each item is either a special token (<c>Special</c> is
    /// its index in the list of special tokens) or the text between two (<c>Special</c> is -1).
    /// </summary>
    internal static List<(string Text, int Special)> SplitOnSpecialTokens(string text)
    {
        var pieces = new List<(string, int)>();
        int copied = 0;
        int at = text.IndexOf('<');
        while (at >= 0)
        {
            int special = SpecialAt(text, at);
            if (special >= 0)
            {
                if (at > copied)
                    pieces.Add((text.Substring(copied, at - copied), -1));
                pieces.Add((s_specialTokens[special], special));
                copied = at + s_specialTokens[special].Length;
                at = copied < text.Length ? text.IndexOf('<', copied) : -1;
            }
            else
            {
                at = at + 1 < text.Length ? text.IndexOf('<', at + 1) : -1;
            }
        }
        if (copied < text.Length)
            pieces.Add((text.Substring(copied), -1));
        return pieces;
    }

    private static int SpecialAt(string text, int at)
    {
        var rest = text.AsSpan(at);
        for (int k = 0; k < s_specialTokens.Length; k++)
        {
            if (rest.StartsWith(s_specialTokens[k], StringComparison.Ordinal))
                return k;
        }
        return -1;
    }

    /// <summary>Every stage of the pipeline for one piece of text between special tokens (for tests and diagnostics).</summary>
    internal PieceTrace TracePiece(string piece, int languageId)
    {
        var pipeline = Pipeline(languageId);
        var unicodePunct = UnicodePunctuation.Replace(piece);
        var punctNorm = pipeline.Normalizer.Normalize(unicodePunct);
        var printable = PythonText.RemoveNonPrinting(punctNorm);
        var romanian = pipeline.Romanian ? RomanianPreprocessing.Apply(printable) : null;
        var moses = pipeline.Moses.Tokenize(romanian ?? printable);
        var lowercased = _lowercase ? AccentFolding.LowercaseAndRemoveAccent(moses) : [.. moses];
        var bpe = new List<string>();
        foreach (var word in lowercased)
        {
            if (word.Length > 0)
                bpe.AddRange(EncodeWord(word).Tokens);
        }
        return new PieceTrace(unicodePunct, punctNorm, printable, romanian, moses, lowercased, bpe);
    }

    /// <summary>The stages of one piece; <c>Romanian</c> is null for languages other than ro.</summary>
    internal sealed record PieceTrace(
        string UnicodePunct, string PunctNorm, string Printable, string? Romanian,
        IReadOnlyList<string> Moses, IReadOnlyList<string> Lowercased, IReadOnlyList<string> Bpe);

    private void Tokenize(string text, int languageId, List<string>? tokensOut, List<int> idsOut)
    {
        // Refuses an unsupported language before anything else, even for text without words.
        var pipeline = Pipeline(languageId);
        foreach (var (piece, special) in SplitOnSpecialTokens(text))
        {
            if (special >= 0)
            {
                tokensOut?.Add(piece);
                idsOut.Add(_specialIds[special]);
                continue;
            }
            var normalized = PythonText.RemoveNonPrinting(pipeline.Normalizer.Normalize(UnicodePunctuation.Replace(piece)));
            if (pipeline.Romanian)
                normalized = RomanianPreprocessing.Apply(normalized);
            var moses = pipeline.Moses.TokenizeToString(normalized);
            for (int start = 0; start < moses.Length;)
            {
                if (PythonText.IsWhitespace(moses[start]))
                {
                    start++;
                    continue;
                }
                int end = start + 1;
                while (end < moses.Length && !PythonText.IsWhitespace(moses[end]))
                    end++;
                var encoded = EncodeMosesToken(moses.AsSpan(start, end - start));
                tokensOut?.AddRange(encoded.Tokens);
                idsOut.AddRange(encoded.Ids);
                start = end;
            }
        }
    }

    // Folds (when the model lowercases) and encodes one Moses token. The cache is keyed by the
    // Moses token itself, so a repeated token skips folding as well as BPE.
    private EncodedWord EncodeMosesToken(ReadOnlySpan<char> token)
    {
        if (_wordCacheLookup.TryGetValue(token, out var cached))
            return cached;
        var raw = token.ToString();
        var word = _lowercase ? AccentFolding.Fold(raw) : raw;
        var encoded = word.Length == 0 ? s_nothing : EncodeWord(word);
        AddToCache(raw, encoded);
        return encoded;
    }

    // BPE of one folded word (uncached; TracePiece and EncodeMosesToken share it).
    private EncodedWord EncodeWord(string word)
    {
        var tokens = _bpe.Encode(word);
        var ids = new int[tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
            ids[i] = IdOf(tokens[i]);
        return new EncodedWord(tokens, ids);
    }

    private void AddToCache(string token, EncodedWord encoded)
    {
        if (token.Length > MaxCachedWordLength)
            return;
        // A crude bound: when full, start over rather than track recency.
        if (Interlocked.Increment(ref _wordCacheCount) > MaxCacheEntries)
        {
            _wordCache.Clear();
            Interlocked.Exchange(ref _wordCacheCount, 0);
        }
        _wordCache.TryAdd(token, encoded);
    }

    private int IdOf(string token) => _ids.TryGetValue(token, out int id) ? id : UnkId;

    private int RequiredId(string token) =>
        _ids.TryGetValue(token, out int id) ? id : throw new ModelFileException($"the vocabulary has no '{token}' token");

    private static void CheckLength(string text)
    {
        if (text.Length > MaxTextLength)
            throw new InvalidInputException($"text is {text.Length} characters long; the tokenizer accepts at most {MaxTextLength}");
    }

    private LanguagePipeline Pipeline(int languageId)
    {
        var language = _languages[languageId];
        if (s_unsupported.TryGetValue(language, out var reason))
            throw new InvalidInputException(
                $"unsupported language '{language}': {reason}, which XlmEdge does not include (tokenize elsewhere and pass token ids)");
        return _pipelines[languageId].Value;
    }

    private static LanguagePipeline CreatePipeline(string language) =>
        new(new MosesPunctNormalizer(language), new MosesTokenizer(language), language == RomanianPreprocessing.Language);
}
