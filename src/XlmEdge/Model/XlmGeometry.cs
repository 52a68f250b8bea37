// The geometry of an XLM model, stated once. This file is compiled into the runtime library
// (namespace XlmEdge, public) and, linked, into the netstandard2.0 source generator (namespace
// XlmEdge.Generators), so it uses nothing newer than netstandard2.0 offers.
#if XLMEDGE_GENERATORS
using System;
using System.Collections.Generic;
using System.Globalization;

namespace XlmEdge.Generators;
#else
using System.Globalization;

namespace XlmEdge;
#endif

/// <summary>
/// The sizes and switches of an XLM model that its forward pass depends on (Hugging Face
/// XLMConfig names in brackets). Model files (<c>XlmConfig.Geometry</c>), presets
/// (<c>XlmPreset.Geometry</c>), the source generator and the weights tool all read into this one
/// type, and its limits are the only ones any of them apply.
/// </summary>
/// <remarks>Two geometries are equal when every member is; a model runs a preset's generated
/// forward exactly when its geometry equals the preset's.</remarks>
public sealed class XlmGeometry : IEquatable<XlmGeometry>
{
    /// <summary>Largest vocabulary accepted.</summary>
    public const int MaxVocabularySize = 1 << 24;
    /// <summary>Largest embedding width accepted.</summary>
    public const int MaxEmbeddingDimension = 1 << 16;
    /// <summary>Most transformer blocks accepted.</summary>
    public const int MaxLayers = 1024;
    /// <summary>Most languages accepted.</summary>
    public const int MaxLanguages = 1024;
    /// <summary>Longest context accepted.</summary>
    public const int MaxContextLength = 1 << 16;

    internal XlmGeometry(int vocabularySize, int embeddingDimension, int layers, int heads, int languageCount,
        bool useLanguageEmbeddings, int contextLength, float layerNormEpsilon, bool isCausal)
    {
        VocabularySize = vocabularySize;
        EmbeddingDimension = embeddingDimension;
        Layers = layers;
        Heads = heads;
        LanguageCount = languageCount;
        // HF creates lang_embeddings only for several languages with use_lang_emb.
        UsesLanguageEmbeddings = useLanguageEmbeddings && languageCount > 1;
        ContextLength = contextLength;
        LayerNormEpsilon = layerNormEpsilon;
        IsCausal = isCausal;
    }

    /// <summary>Number of vocabulary entries (vocab_size).</summary>
    public int VocabularySize { get; }
    /// <summary>Width of the hidden states (emb_dim).</summary>
    public int EmbeddingDimension { get; }
    /// <summary>Number of transformer blocks (n_layers).</summary>
    public int Layers { get; }
    /// <summary>Number of attention heads (n_heads).</summary>
    public int Heads { get; }
    /// <summary>Number of languages (n_langs).</summary>
    public int LanguageCount { get; }
    /// <summary>Whether a language embedding is added to every position (use_lang_emb and n_langs &gt; 1).</summary>
    public bool UsesLanguageEmbeddings { get; }
    /// <summary>Longest input in tokens, &lt;s&gt; and &lt;/s&gt; included (max_position_embeddings).</summary>
    public int ContextLength { get; }
    /// <summary>Layer-norm epsilon (layer_norm_eps) as the runtime uses it, in fp32.</summary>
    public float LayerNormEpsilon { get; }
    /// <summary>Whether attention is causal: a language model (causal), not a masked one.</summary>
    public bool IsCausal { get; }

    /// <summary>Width of one attention head.</summary>
    public int HeadDimension => EmbeddingDimension / Heads;
    /// <summary>Width of the feed-forward hidden layer: 4 x emb_dim, as XLM hard-codes it.</summary>
    public int FeedForwardDimension => 4 * EmbeddingDimension;

    /// <summary>
    /// Checks raw values (as read from a config, a preset or a model file) against the limits and
    /// builds the geometry; returns null and adds every problem to <paramref name="problems"/>
    /// otherwise. Each problem names its field; its message holds values only, so each reader can
    /// name the field in its own file's terms.
    /// </summary>
    internal static XlmGeometry? Create(long vocabularySize, long embeddingDimension, long layers, long heads,
        long languageCount, bool useLanguageEmbeddings, long contextLength, double layerNormEpsilon, bool isCausal,
        ICollection<GeometryProblem> problems)
    {
        int before = problems.Count;
        Range(problems, GeometryField.EmbeddingDimension, embeddingDimension, MaxEmbeddingDimension);
        Range(problems, GeometryField.VocabularySize, vocabularySize, MaxVocabularySize);
        // the [vocab, d] embedding is indexed with an int
        if (vocabularySize is >= 1 and <= MaxVocabularySize && embeddingDimension is >= 1 and <= MaxEmbeddingDimension
            && vocabularySize * embeddingDimension > int.MaxValue)
            problems.Add(new(GeometryField.VocabularySize, Text($"{vocabularySize} x the embedding width {embeddingDimension} is more than {int.MaxValue} elements")));
        Range(problems, GeometryField.Layers, layers, MaxLayers);
        if (Range(problems, GeometryField.Heads, heads, MaxEmbeddingDimension)
            && embeddingDimension is >= 1 and <= MaxEmbeddingDimension && embeddingDimension % heads != 0)
            problems.Add(new(GeometryField.Heads, Text($"{heads} does not divide the embedding width {embeddingDimension}")));
        Range(problems, GeometryField.LanguageCount, languageCount, MaxLanguages);
        Range(problems, GeometryField.ContextLength, contextLength, MaxContextLength);
        float epsilon = (float)layerNormEpsilon;
        if (!(epsilon > 0 && epsilon < 1))
            problems.Add(new(GeometryField.LayerNormEpsilon, Text($"{layerNormEpsilon.ToString("R", CultureInfo.InvariantCulture)} is not in (0, 1) as an fp32 value")));
        if (problems.Count > before)
            return null;
        return new XlmGeometry((int)vocabularySize, (int)embeddingDimension, (int)layers, (int)heads, (int)languageCount,
            useLanguageEmbeddings, (int)contextLength, epsilon, isCausal);
    }

    /// <summary>The config.json (and preset file) name of a field.</summary>
    internal static string HfName(GeometryField field) => field switch
    {
        GeometryField.VocabularySize => "vocab_size",
        GeometryField.EmbeddingDimension => "emb_dim",
        GeometryField.Layers => "n_layers",
        GeometryField.Heads => "n_heads",
        GeometryField.LanguageCount => "n_langs",
        GeometryField.UseLanguageEmbeddings => "use_lang_emb",
        GeometryField.ContextLength => "max_position_embeddings",
        GeometryField.LayerNormEpsilon => "layer_norm_eps",
        GeometryField.IsCausal => "causal",
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };

    /// <inheritdoc/>
    public bool Equals(XlmGeometry? other) =>
        other is not null
        && VocabularySize == other.VocabularySize
        && EmbeddingDimension == other.EmbeddingDimension
        && Layers == other.Layers
        && Heads == other.Heads
        && LanguageCount == other.LanguageCount
        && UsesLanguageEmbeddings == other.UsesLanguageEmbeddings
        && ContextLength == other.ContextLength
        && LayerNormEpsilon.Equals(other.LayerNormEpsilon)
        && IsCausal == other.IsCausal;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as XlmGeometry);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        int hash = VocabularySize;
        foreach (int part in new[] { EmbeddingDimension, Layers, Heads, LanguageCount, ContextLength,
            LayerNormEpsilon.GetHashCode(), UsesLanguageEmbeddings ? 1 : 0, IsCausal ? 1 : 0 })
            hash = unchecked(hash * 31 + part);
        return hash;
    }

    /// <summary>The geometry in config.json terms, e.g. "vocab_size 64139, emb_dim 1024, ...".</summary>
    public override string ToString() => Text(
        $"vocab_size {VocabularySize}, emb_dim {EmbeddingDimension}, n_layers {Layers}, n_heads {Heads}, n_langs {LanguageCount}, use_lang_emb {(UsesLanguageEmbeddings ? "true" : "false")}, max_position_embeddings {ContextLength}, layer_norm_eps {LayerNormEpsilon.ToString("R", CultureInfo.InvariantCulture)}, causal {(IsCausal ? "true" : "false")}");

    private static bool Range(ICollection<GeometryProblem> problems, GeometryField field, long value, long max)
    {
        if (value >= 1 && value <= max)
            return true;
        problems.Add(new(field, Text($"{value} is outside 1 to {max}")));
        return false;
    }

    private static string Text(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The fields of an <see cref="XlmGeometry"/>, for naming them in messages.</summary>
internal enum GeometryField
{
    VocabularySize,
    EmbeddingDimension,
    Layers,
    Heads,
    LanguageCount,
    UseLanguageEmbeddings,
    ContextLength,
    LayerNormEpsilon,
    IsCausal,
}

/// <summary>One value a geometry cannot have: the field and what is wrong with its value.</summary>
internal sealed record GeometryProblem(GeometryField Field, string Message);
