using XlmEdge.Weights;

namespace XlmEdge;

/// <summary>
/// The hyper-parameters of an XLM checkpoint, as the weights tool stored them in the GGUF
/// metadata (Hugging Face XLMConfig names in brackets).
/// </summary>
public sealed class XlmConfig
{
    /// <summary>Largest geometry accepted from a file; guards buffer sizes computed from metadata.</summary>
    private const int MaxDimension = 1 << 16;

    /// <summary>Number of vocabulary entries (vocab_size).</summary>
    public int VocabularySize { get; }
    /// <summary>Width of the hidden states (emb_dim).</summary>
    public int EmbeddingDimension { get; }
    /// <summary>Number of transformer blocks (n_layers).</summary>
    public int Layers { get; }
    /// <summary>Number of attention heads (n_heads).</summary>
    public int Heads { get; }
    /// <summary>Width of the feed-forward hidden layer (4 x emb_dim for XLM).</summary>
    public int FeedForwardDimension { get; }
    /// <summary>Longest input in tokens, including &lt;s&gt; and &lt;/s&gt; (max_position_embeddings).</summary>
    public int ContextLength { get; }
    /// <summary>Layer-norm epsilon (layer_norm_eps).</summary>
    public float LayerNormEpsilon { get; }
    /// <summary>Language codes in language-id order (id2lang).</summary>
    public IReadOnlyList<string> Languages { get; }
    /// <summary>Whether a language embedding is added to every position (use_lang_emb and n_langs &gt; 1).</summary>
    public bool UsesLanguageEmbeddings { get; }
    /// <summary>Id of the mask token (mask_index), &lt;special1&gt; for the enfr checkpoints.</summary>
    public int MaskId { get; }
    /// <summary>
    /// Whether attention is causal (causal): a language model (xlm-clm-*) whose position p sees
    /// positions 0..p only; it generates and scores text and cannot fill masks.
    /// </summary>
    public bool IsCausal { get; }

    /// <summary>Width of one attention head.</summary>
    public int HeadDimension => EmbeddingDimension / Heads;

    private XlmConfig(int vocab, int d, int layers, int heads, int ffn, int context, float eps,
        IReadOnlyList<string> languages, bool langEmb, int maskId, bool causal)
    {
        VocabularySize = vocab;
        EmbeddingDimension = d;
        Layers = layers;
        Heads = heads;
        FeedForwardDimension = ffn;
        ContextLength = context;
        LayerNormEpsilon = eps;
        Languages = languages;
        UsesLanguageEmbeddings = langEmb;
        MaskId = maskId;
        IsCausal = causal;
    }

    internal static XlmConfig FromGguf(GgufFile file)
    {
        string arch = file.GetString(GgufFormat.KeyArchitecture);
        if (arch != GgufFormat.Architecture)
            throw new ModelFileException($"the file holds a '{arch}' model; XlmEdge runs '{GgufFormat.Architecture}' models only");
        if (!file.GetBool(GgufFormat.KeyGeluActivation))
            throw new ModelFileException("only GELU XLM checkpoints are supported (gelu_activation is false)");

        int d = Dimension(file, GgufFormat.KeyEmbeddingLength, MaxDimension);
        // the [vocab, d] embedding must be indexable with an int; enfr-1024 has 64139 x 1024
        int vocab = Dimension(file, GgufFormat.KeyVocabSize, max: int.MaxValue / d);
        int layers = Dimension(file, GgufFormat.KeyBlockCount, 1024);
        int heads = Dimension(file, GgufFormat.KeyHeadCount, d);
        int ffn = Dimension(file, GgufFormat.KeyFeedForwardLength, 4 * MaxDimension);
        int context = Dimension(file, GgufFormat.KeyContextLength, MaxDimension);
        if (d % heads != 0)
            throw new ModelFileException($"embedding length {d} is not a multiple of the head count {heads}");
        float eps = file.GetFloat32(GgufFormat.KeyLayerNormEpsilon);
        if (!(eps >= 0 && eps < 1))
            throw new ModelFileException($"layer-norm epsilon {eps} is out of range");
        string[] languages = file.GetStringArray(GgufFormat.KeyLanguages);
        if (languages.Length == 0)
            throw new ModelFileException($"'{GgufFormat.KeyLanguages}' is empty");
        bool langEmb = file.GetBool(GgufFormat.KeyUseLangEmb) && languages.Length > 1;
        uint mask = file.GetUInt32(GgufFormat.KeyMaskTokenId);
        if (mask >= vocab)
            throw new ModelFileException($"mask token id {mask} is outside the vocabulary of {vocab}");
        return new XlmConfig(vocab, d, layers, heads, ffn, context, eps, languages, langEmb, (int)mask, file.GetBool(GgufFormat.KeyCausal));
    }

    private static int Dimension(GgufFile file, string key, int max)
    {
        uint value = file.GetUInt32(key);
        if (value == 0 || value > max)
            throw new ModelFileException($"'{key}' = {value} is out of range (1 to {max})");
        return (int)value;
    }
}
