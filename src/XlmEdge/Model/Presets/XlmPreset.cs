namespace XlmEdge;

/// <summary>
/// A known XLM geometry (Hugging Face config.json names in brackets). The instances live in
/// <see cref="XlmPresets"/>, which the source generator writes from the *.xlm.json files next to
/// this one, together with an unrolled forward pass per preset.
/// </summary>
public sealed class XlmPreset
{
    internal XlmPreset(string name, string? hubId, string description, bool isTestFixture, int vocabularySize,
        int embeddingDimension, int layers, int heads, int languages, bool useLanguageEmbeddings, int contextLength,
        float layerNormEpsilon)
    {
        Name = name;
        HubId = hubId;
        Description = description;
        IsTestFixture = isTestFixture;
        VocabularySize = vocabularySize;
        EmbeddingDimension = embeddingDimension;
        Layers = layers;
        Heads = heads;
        Languages = languages;
        UsesLanguageEmbeddings = useLanguageEmbeddings && languages > 1;
        ContextLength = contextLength;
        LayerNormEpsilon = layerNormEpsilon;
    }

    /// <summary>The checkpoint's short name, e.g. <c>xlm-mlm-enfr-1024</c>.</summary>
    public string Name { get; }
    /// <summary>The Hugging Face hub id, or null for a geometry that is not published (a test fixture).</summary>
    public string? HubId { get; }
    /// <summary>One line about the checkpoint (licence, provenance); may be empty.</summary>
    public string Description { get; }
    /// <summary>Whether this is the geometry of a test fixture rather than of a released checkpoint.</summary>
    internal bool IsTestFixture { get; }
    /// <summary>Number of vocabulary entries (vocab_size).</summary>
    public int VocabularySize { get; }
    /// <summary>Width of the hidden states (emb_dim).</summary>
    public int EmbeddingDimension { get; }
    /// <summary>Number of transformer blocks (n_layers).</summary>
    public int Layers { get; }
    /// <summary>Number of attention heads (n_heads).</summary>
    public int Heads { get; }
    /// <summary>Width of one attention head.</summary>
    public int HeadDimension => EmbeddingDimension / Heads;
    /// <summary>Width of the feed-forward hidden layer (4 x emb_dim).</summary>
    public int FeedForwardDimension => 4 * EmbeddingDimension;
    /// <summary>Number of languages (n_langs).</summary>
    public int Languages { get; }
    /// <summary>Whether a language embedding is added to every position (use_lang_emb and n_langs &gt; 1).</summary>
    public bool UsesLanguageEmbeddings { get; }
    /// <summary>Longest input in tokens (max_position_embeddings).</summary>
    public int ContextLength { get; }
    /// <summary>Layer-norm epsilon (layer_norm_eps) as the runtime uses it, in fp32.</summary>
    public float LayerNormEpsilon { get; }

    /// <summary>Whether <paramref name="config"/> has exactly this geometry (vocabulary, sizes, languages, epsilon).</summary>
    public bool Matches(XlmConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.VocabularySize == VocabularySize
            && config.EmbeddingDimension == EmbeddingDimension
            && config.Layers == Layers
            && config.Heads == Heads
            && config.FeedForwardDimension == FeedForwardDimension
            && config.Languages.Count == Languages
            && config.UsesLanguageEmbeddings == UsesLanguageEmbeddings
            && config.ContextLength == ContextLength
            && config.LayerNormEpsilon.Equals(LayerNormEpsilon);
    }

    /// <inheritdoc/>
    public override string ToString() => HubId is null ? Name : $"{Name} ({HubId})";
}
