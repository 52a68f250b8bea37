using System.Globalization;
using XlmEdge.Tokenization;
using XlmEdge.Weights;

namespace XlmEdge.Model;

/// <summary>The ids a model gives its special tokens (bos_index, eos_index, pad_index, unk_index, mask_index).</summary>
internal readonly record struct SpecialTokenIds(int Bos, int Eos, int Pad, int Unk, int Mask);

/// <summary>
/// Everything a model file says besides its tensors, in one place, and the one decision of what a
/// valid model is. <c>pack</c> builds it from the checkpoint and validates it before writing a
/// byte; loading and <c>verify</c> read it from the file and run the same validation.
/// </summary>
internal sealed record ModelMetadata(
    XlmGeometry Geometry,
    IReadOnlyList<string> Languages,
    IReadOnlyList<string> Tokens,
    IReadOnlyList<string> Merges,
    bool LowercaseAndRemoveAccent,
    SpecialTokenIds Specials,
    bool GeluActivation,
    bool SinusoidalEmbeddings,
    IReadOnlyList<int>? TokenTypes)
{
    /// <summary>Longest language code accepted.</summary>
    public const int MaxLanguageNameLength = 32;

    /// <summary>
    /// The one validation: returns the model's config and tokenizer, or throws naming the first
    /// problem (geometry, what this runtime runs, languages, vocabulary, special ids, token types).
    /// </summary>
    /// <exception cref="ModelFileException">The model is not one this runtime runs.</exception>
    public (XlmConfig Config, XlmTokenizer Tokenizer) Validate()
    {
        var g = Geometry;
        // What the runtime computes: exact GELU (attention is bidirectional, or causal for CLM models).
        if (!GeluActivation)
            throw new ModelFileException("only GELU XLM checkpoints are supported (gelu_activation is false)");

        if (Languages.Count != g.LanguageCount)
            throw new ModelFileException($"{Languages.Count} language names for {g.LanguageCount} languages");
        foreach (var language in Languages)
        {
            if (!IsLanguageName(language))
                throw new ModelFileException($"language name '{Printable(language)}' is not 1 to {MaxLanguageNameLength} ASCII letters, digits, '-' or '_'");
        }
        if (Tokens.Count != g.VocabularySize)
            throw new ModelFileException($"the vocabulary has {Tokens.Count} tokens but the vocabulary size is {g.VocabularySize}");
        if (TokenTypes is not null)
        {
            if (TokenTypes.Count != Tokens.Count)
                throw new ModelFileException($"{TokenTypes.Count} token types for {Tokens.Count} tokens");
            int bad = TokenTypes.ToList().FindIndex(t => !Enum.IsDefined((TokenType)t));
            if (bad >= 0)
                throw new ModelFileException($"token {bad} has token type {TokenTypes[bad]}, which is not one of GGUF's (1 to 6)");
        }

        // Duplicate tokens or languages and a missing special token are the tokenizer's to find.
        var tokenizer = new XlmTokenizer(Tokens, Merges, Languages, LowercaseAndRemoveAccent);
        CheckSpecial("bos_index", Specials.Bos, tokenizer.BosId);
        CheckSpecial("eos_index", Specials.Eos, tokenizer.EosId);
        CheckSpecial("pad_index", Specials.Pad, tokenizer.PadId);
        CheckSpecial("unk_index", Specials.Unk, tokenizer.UnkId);
        CheckSpecial("mask_index", Specials.Mask, tokenizer.MaskId);
        return (new XlmConfig(g, tokenizer.Languages, Specials.Mask), tokenizer);

        // Named as config.json names them: the GGUF keys hold the same ids.
        void CheckSpecial(string what, int id, int expected)
        {
            if (id == expected)
                return;
            string actual = id >= 0 && id < Tokens.Count ? $"'{Printable(Tokens[id])}'" : "outside the vocabulary";
            throw new ModelFileException($"{what} {id} is {actual}; the vocabulary's {Printable(Tokens[expected])} is id {expected}");
        }
    }

    /// <summary>GGUF's token types (llama.cpp's numbering) for <paramref name="tokens"/>: specials are control tokens.</summary>
    public static int[] TokenTypesOf(IReadOnlyList<string> tokens)
    {
        var types = new int[tokens.Count];
        for (int i = 0; i < types.Length; i++)
        {
            types[i] = (int)(tokens[i] == "<unk>" ? TokenType.Unknown
                : XlmTokenizer.IsSpecialToken(tokens[i]) ? TokenType.Control
                : TokenType.Normal);
        }
        return types;
    }

    /// <summary>Language codes as XLM checkpoints name them: "en", "zh-Hans", "zh_classical", "simple".</summary>
    public static bool IsLanguageName(string name) =>
        name.Length is >= 1 and <= MaxLanguageNameLength && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>Reads a model file's metadata; a missing or mistyped key, or a geometry out of range, is an error.</summary>
    /// <exception cref="ModelFileException">The metadata is incomplete, mistyped, or not an XLM model's.</exception>
    public static ModelMetadata Read(GgufFile file)
    {
        string architecture = file.GetString(GgufFormat.KeyArchitecture);
        if (architecture != GgufFormat.Architecture)
            throw new ModelFileException($"the file holds a '{Printable(architecture)}' model; XlmEdge runs '{GgufFormat.Architecture}' models only");
        string tokenizerModel = file.GetString(GgufFormat.KeyTokenizerModel);
        if (tokenizerModel != GgufFormat.TokenizerModelName)
            throw new ModelFileException($"'{GgufFormat.KeyTokenizerModel}' is '{Printable(tokenizerModel)}', not '{GgufFormat.TokenizerModelName}'");

        string[] languages = file.GetStringArray(GgufFormat.KeyLanguages);
        var problems = new List<GeometryProblem>();
        var geometry = XlmGeometry.Create(
            file.GetUInt32(GgufFormat.KeyVocabSize), file.GetUInt32(GgufFormat.KeyEmbeddingLength),
            file.GetUInt32(GgufFormat.KeyBlockCount), file.GetUInt32(GgufFormat.KeyHeadCount), languages.Length,
            file.GetBool(GgufFormat.KeyUseLangEmb), file.GetUInt32(GgufFormat.KeyContextLength),
            file.GetFloat32(GgufFormat.KeyLayerNormEpsilon), file.GetBool(GgufFormat.KeyCausal), problems);
        if (geometry is null)
            throw new ModelFileException($"'{GgufFormat.KeyOf(problems[0].Field)}' {problems[0].Message}");
        uint ffn = file.GetUInt32(GgufFormat.KeyFeedForwardLength);
        if (ffn != geometry.FeedForwardDimension)
            throw new ModelFileException(string.Create(CultureInfo.InvariantCulture,
                $"'{GgufFormat.KeyFeedForwardLength}' is {ffn}, not 4 x the embedding length ({geometry.FeedForwardDimension})"));

        return new ModelMetadata(
            geometry, languages,
            file.GetStringArray(GgufFormat.KeyTokens),
            file.GetStringArray(GgufFormat.KeyMerges),
            file.GetBool(GgufFormat.KeyDoLowercaseAndRemoveAccent),
            new SpecialTokenIds(
                Id(file, GgufFormat.KeyBosTokenId), Id(file, GgufFormat.KeyEosTokenId),
                Id(file, GgufFormat.KeyPaddingTokenId), Id(file, GgufFormat.KeyUnknownTokenId), MaskId(file)),
            file.GetBool(GgufFormat.KeyGeluActivation),
            file.TryGetMetadata(GgufFormat.KeySinusoidalEmbeddings, out _) && file.GetBool(GgufFormat.KeySinusoidalEmbeddings),
            file.TryGetMetadata(GgufFormat.KeyTokenTypes, out _) ? file.GetInt32Array(GgufFormat.KeyTokenTypes) : null);
    }

    /// <summary>The mask id under llama.cpp's key; files packed before it was written carry only the older xlm.mask_token_id.</summary>
    private static int MaskId(GgufFile file)
    {
        bool hasNew = file.TryGetMetadata(GgufFormat.KeyMaskTokenId, out _);
        bool hasLegacy = file.TryGetMetadata(GgufFormat.KeyLegacyMaskTokenId, out _);
        int id = Id(file, hasNew || !hasLegacy ? GgufFormat.KeyMaskTokenId : GgufFormat.KeyLegacyMaskTokenId);
        if (hasNew && hasLegacy && Id(file, GgufFormat.KeyLegacyMaskTokenId) != id)
            throw new ModelFileException($"'{GgufFormat.KeyMaskTokenId}' and '{GgufFormat.KeyLegacyMaskTokenId}' disagree");
        return id;
    }

    private static int Id(GgufFile file, string key)
    {
        uint id = file.GetUInt32(key);
        return id > int.MaxValue ? -1 : (int)id;
    }

    /// <summary>A name as a message may show it: control characters escaped, at most 64 characters.</summary>
    internal static string Printable(string s)
    {
        var text = new System.Text.StringBuilder();
        foreach (char c in s.Length > 64 ? s[..64] : s)
            text.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c);
        return s.Length > 64 ? text.Append("...").ToString() : text.ToString();
    }
}

/// <summary>GGUF's tokenizer.ggml.token_type values (llama.cpp's llama_token_type numbering).</summary>
internal enum TokenType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>Opens a model file's pieces: the one path that loading and <c>verify</c> share.</summary>
internal static class ModelFile
{
    /// <summary>Validates the metadata and binds every tensor.</summary>
    /// <exception cref="ModelFileException">The file is not a model this runtime runs.</exception>
    public static (XlmConfig Config, XlmTokenizer Tokenizer, XlmWeights Weights) Open(GgufFile file)
    {
        var (config, tokenizer) = ModelMetadata.Read(file).Validate();
        return (config, tokenizer, XlmWeights.Bind(file, config.Geometry));
    }
}
