namespace XlmEdge;

/// <summary>
/// What a loaded XLM model is: its <see cref="Geometry"/>, its languages and its mask token, as
/// the weights tool stored them in the GGUF metadata (Hugging Face XLMConfig names in brackets).
/// </summary>
public sealed class XlmConfig
{
    internal XlmConfig(XlmGeometry geometry, IReadOnlyList<string> languages, int maskId)
    {
        Geometry = geometry;
        Languages = languages;
        MaskId = maskId;
    }

    /// <summary>The sizes and switches the forward pass depends on.</summary>
    public XlmGeometry Geometry { get; }
    /// <summary>Language codes in language-id order (id2lang).</summary>
    public IReadOnlyList<string> Languages { get; }
    /// <summary>Id of the mask token (mask_index), &lt;special1&gt; for the XLM checkpoints.</summary>
    public int MaskId { get; }
}
