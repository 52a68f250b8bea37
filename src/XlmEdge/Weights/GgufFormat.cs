namespace XlmEdge.Weights;

/// <summary>
/// Constants of the GGUF v3 container and the metadata keys XlmEdge writes and reads
/// (DESIGN.md section 4). Writer (weights tool) and reader (runtime) both use these names.
/// </summary>
internal static class GgufFormat
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;
    public const uint Version = 3;
    /// <summary>Tensor data alignment: rows can be read with aligned 512-bit loads.</summary>
    public const int Alignment = 64;

    public const string Architecture = "xlm";

    public const string KeyArchitecture = "general.architecture";
    public const string KeyName = "general.name";
    public const string KeyAlignment = "general.alignment";
    public const string KeyLicense = "general.license";
    public const string KeySourceUrl = "general.source.url";
    public const string KeySourceRepository = "general.source.huggingface.repository";
    /// <summary>llama.cpp's llama_ftype of the matrices: <see cref="FileTypeAllF32"/> or <see cref="FileTypeMostlyF16"/>.</summary>
    public const string KeyFileType = "general.file_type";
    public const string KeyVocabSize = "xlm.vocab_size";
    public const string KeyEmbeddingLength = "xlm.embedding_length";
    public const string KeyBlockCount = "xlm.block_count";
    public const string KeyHeadCount = "xlm.attention.head_count";
    public const string KeyFeedForwardLength = "xlm.feed_forward_length";
    public const string KeyContextLength = "xlm.context_length";
    public const string KeyLayerNormEpsilon = "xlm.attention.layer_norm_epsilon";
    public const string KeyLanguages = "xlm.languages";
    public const string KeyUseLangEmb = "xlm.use_lang_emb";
    public const string KeySinusoidalEmbeddings = "xlm.sinusoidal_embeddings";
    public const string KeyCausal = "xlm.causal";
    public const string KeyGeluActivation = "xlm.gelu_activation";
    public const string KeyDoLowercaseAndRemoveAccent = "xlm.do_lowercase_and_remove_accent";
    public const string KeyMaskTokenId = "tokenizer.ggml.mask_token_id";
    /// <summary>Where files packed before <see cref="KeyMaskTokenId"/> was written keep the mask id.</summary>
    public const string KeyLegacyMaskTokenId = "xlm.mask_token_id";
    public const string KeyTokenizerModel = "tokenizer.ggml.model";
    public const string KeyTokens = "tokenizer.ggml.tokens";
    public const string KeyMerges = "tokenizer.ggml.merges";
    public const string KeyBosTokenId = "tokenizer.ggml.bos_token_id";
    public const string KeyEosTokenId = "tokenizer.ggml.eos_token_id";
    public const string KeyPaddingTokenId = "tokenizer.ggml.padding_token_id";
    public const string KeyUnknownTokenId = "tokenizer.ggml.unknown_token_id";
    /// <summary>int32 per token, llama.cpp's llama_token_type numbering (<see cref="Model.TokenType"/>).</summary>
    public const string KeyTokenTypes = "tokenizer.ggml.token_type";
    /// <summary>"xxh3-64:" + 16 hex digits over the whole file with this value's digits read as '0'.</summary>
    public const string KeyContentHash = "xlmedge.content_hash";
    /// <summary>
    /// How the blocks' Linear weights are stored: <see cref="LinearLayoutPanels"/>, row panels the kernels
    /// stream (Kernels.PanelLayout). Files without it (packed before the layout) are refused with "re-pack".
    /// </summary>
    public const string KeyLinearLayout = "xlmedge.linear_layout";
    /// <summary>Row panels of 32, k-major, fp16 in pair order (Kernels.PanelLayout).</summary>
    public const string LinearLayoutPanels = "panels32";

    public const string TokenizerModelName = "xlm-bpe";

    public const uint FileTypeAllF32 = 0;
    public const uint FileTypeMostlyF16 = 1;

    /// <summary>The metadata key that holds a geometry field (the languages' count is the length of their list).</summary>
    public static string KeyOf(GeometryField field) => field switch
    {
        GeometryField.VocabularySize => KeyVocabSize,
        GeometryField.EmbeddingDimension => KeyEmbeddingLength,
        GeometryField.Layers => KeyBlockCount,
        GeometryField.Heads => KeyHeadCount,
        GeometryField.LanguageCount => KeyLanguages,
        GeometryField.UseLanguageEmbeddings => KeyUseLangEmb,
        GeometryField.ContextLength => KeyContextLength,
        GeometryField.LayerNormEpsilon => KeyLayerNormEpsilon,
        GeometryField.IsCausal => KeyCausal,
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };
}

/// <summary>GGUF metadata value types (the numbering is the format's).</summary>
internal enum GgufValueType : uint
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
}

/// <summary>GGUF tensor types XlmEdge uses (ggml numbering: F32 = 0, F16 = 1).</summary>
internal enum GgufTensorType : uint
{
    F32 = 0,
    F16 = 1,
}
