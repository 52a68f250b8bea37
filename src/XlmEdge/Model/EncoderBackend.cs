using XlmEdge.Kernels;

namespace XlmEdge.Model;

/// <summary>
/// The seam between <see cref="XlmModel"/> and the device that runs the forward pass: the encoder
/// over a batch of sentences, then the final hidden states and the output layer at the rows asked
/// for (the masks). <see cref="CpuEncoderBackend"/> is one implementation, XlmEdge.Gpu's ILGPU
/// encoder the other. Calls are serialised by the model.
/// </summary>
internal interface IEncoderBackend : IDisposable
{
    /// <summary>The kind of device: <see cref="XlmBackend.Cpu"/> or <see cref="XlmBackend.Cuda"/>.</summary>
    XlmBackend Kind { get; }

    /// <summary>For people: the device and the kernels that run, e.g. "cpu: avx2+fma, 2 threads".</summary>
    string Description { get; }

    /// <summary>
    /// Runs the encoder over sentences given back to back: <paramref name="ids"/> holds every
    /// sentence's ids (&lt;s&gt; ... &lt;/s&gt;, checked against the vocabulary by the caller),
    /// <paramref name="lengths"/> their lengths (each at most the context length) and
    /// <paramref name="languageIds"/> their language ids. For each index r of <paramref name="rows"/>
    /// (indices into <paramref name="ids"/>, strictly increasing) it writes the final hidden state of token r into
    /// <paramref name="hidden"/> [rows, d] and its output-layer logits into <paramref name="logits"/>
    /// [rows, V]; an empty span means that result is not wanted.
    /// </summary>
    void Run(ReadOnlySpan<int> ids, ReadOnlySpan<int> lengths, ReadOnlySpan<int> languageIds, ReadOnlySpan<int> rows,
        Span<float> hidden, Span<float> logits);
}

/// <summary>The CPU kernels behind <see cref="IEncoderBackend"/>: <see cref="XlmEncoder"/> and the output layer at the rows.</summary>
internal sealed class CpuEncoderBackend : IEncoderBackend
{
    private readonly XlmGeometry _geometry;
    private readonly XlmWeights _weights;
    private readonly XlmEncoder _encoder;

    public CpuEncoderBackend(XlmConfig config, XlmWeights weights, XlmModelOptions options)
    {
        int threads = options.Threads;
        _geometry = config.Geometry;
        _weights = weights;
        Pool = new WorkerPool(threads);
        try
        {
            weights.RequireFinitePanels(Pool);
        }
        catch
        {
            Pool.Dispose();
            throw;
        }
        _encoder = new XlmEncoder(config, weights, Pool, options.UseGeneratedForward);
        Description = $"cpu: {CpuFeatures.Name(CpuFeatures.Selected)}, {threads} thread{(threads == 1 ? "" : "s")}";
    }

    public XlmBackend Kind => XlmBackend.Cpu;

    public string Description { get; }

    /// <summary>The worker threads, which the causal decoder of XlmModel shares.</summary>
    public WorkerPool Pool { get; }

    /// <summary>The encoder's activation buffers, which the causal decoder shares (a model runs one or the other).</summary>
    public EncoderActivations Activations => _encoder.Activations;

    /// <summary>The preset whose generated forward runs the blocks, or null on the generic path.</summary>
    public XlmPreset? GeneratedPreset => _encoder.GeneratedPreset;

    public void Run(ReadOnlySpan<int> ids, ReadOnlySpan<int> lengths, ReadOnlySpan<int> languageIds, ReadOnlySpan<int> rows,
        Span<float> hidden, Span<float> logits)
    {
        int d = _geometry.EmbeddingDimension;
        // Every row (0 .. T-1, as rows are strictly increasing) is the encoder's plain call; fewer rows finish the last block on those only.
        var selected = _encoder.Encode(ids, lengths, languageIds, rows.Length == ids.Length ? default : rows)[..(rows.Length * d)];
        if (!hidden.IsEmpty)
            selected.CopyTo(hidden);
        if (!logits.IsEmpty)
        {
            // logits[M, V] = hidden[rows] E^T + b: the output layer only where it is needed
            _weights.WordEmbeddings.Linear(Pool, selected, rows.Length, _weights.OutputBias.Span, logits);
        }
    }

    public void Dispose() => Pool.Dispose();
}
