using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using XlmEdge.Model;

namespace XlmEdge.Gpu;

/// <summary>
/// The XLM forward pass on an ILGPU accelerator (DESIGN.md sections 2 and 7): weights uploaded once,
/// activations resident on the device from the embeddings to the output layer, one upload of the
/// batch's ids and one copy back of the results per call. Sentences are padded to the longest;
/// attention masks the padding keys and the pad mask zeroes padding rows after every LayerNorm.
/// </summary>
internal sealed class DeviceEncoder<TW, TE> : IDeviceEncoder where TW : unmanaged where TE : struct, IWeightElement<TW>
{
    private readonly XlmGeometry _geometry;
    private readonly DeviceMemory _memory;
    private readonly DeviceOps<TW, TE> _ops;
    private readonly IDeviceGemm<TW> _gemm;
    private readonly DeviceWeights<TW> _weights;
    private readonly DeviceActivations _a;
    private int[] _staging = [];

    public DeviceProfile? Profile { get; set; }

    public Accelerator Accelerator => _memory.Accelerator;

    public long Launches => _ops.Launches + (_gemm is CuBlasGemm blas ? blas.Launches : 0);

    public DeviceEncoder(XlmGeometry geometry, DeviceMemory memory, DeviceOps<TW, TE> ops, IDeviceGemm<TW> gemm, DeviceWeights<TW> weights, string device)
    {
        _geometry = geometry;
        _memory = memory;
        _ops = ops;
        _gemm = gemm;
        _weights = weights;
        _a = new DeviceActivations(memory, geometry);
        Description = $"{device}; GEMM: {gemm.Name}";
    }

    public XlmBackend Kind => XlmBackend.Cuda;

    public string Description { get; }

    public void Run(ReadOnlySpan<int> ids, ReadOnlySpan<int> lengths, ReadOnlySpan<int> languageIds, ReadOnlySpan<int> rows,
        Span<float> hidden, Span<float> logits)
    {
        int d = _geometry.EmbeddingDimension, batch = lengths.Length, masks = rows.Length;
        int tmax = 0;
        foreach (int n in lengths)
            tmax = Math.Max(tmax, n);
        int tokens = batch * tmax;
        _a.EnsureCapacity(tokens, batch, masks);
        Profile?.Start();
        UploadBatch(ids, lengths, languageIds, rows, tmax);
        Profile?.Mark("upload ids");
        var w = _weights;
        var x = _a.X(tokens);
        var y = _a.Y(tokens);

        // x = LN_emb(E_word[ids] + E_pos + E_lang); x *= pad_mask
        _ops.Embed(_a.Ids(tokens), _a.Lengths(batch), _a.Languages(batch), w.WordEmbeddings.View, w.PositionEmbeddings.View,
            w.LanguageEmbeddings?.View, x, batch, tmax, d);
        _ops.AddNormalize(x, null, w.EmbeddingNormWeight, w.EmbeddingNormBias, _a.Lengths(batch), tmax, tokens, d, _geometry.LayerNormEpsilon);
        Profile?.Mark("embeddings + layer norm");

        foreach (var b in w.Blocks)
            RunBlock(b, tokens, batch, tmax);

        // hidden[rows] and logits[rows] = hidden[rows] E^T + b: the output layer only where it is needed
        var selected = _a.Selected(masks);
        _ops.GatherRows(x, _a.Rows(masks), selected, masks, d);
        if (!logits.IsEmpty)
        {
            var deviceLogits = _a.Logits(masks);
            _gemm.Linear(selected, masks, w.WordEmbeddings, w.OutputBias, deviceLogits, gelu: false);
            Profile?.Mark("output layer at the rows");
            deviceLogits.CopyToCPU(ref MemoryMarshal.GetReference(logits), (long)masks * _geometry.VocabularySize);
        }
        if (!hidden.IsEmpty)
            selected.CopyToCPU(ref MemoryMarshal.GetReference(hidden), (long)masks * d);
        Profile?.Mark("copy back");
        Profile?.Finish();
    }

    /// <summary>One post-norm block (XlmEncoder.RunBlock) over the padded batch in X.</summary>
    private void RunBlock(DeviceBlock<TW> b, int tokens, int batch, int tmax)
    {
        int d = _geometry.EmbeddingDimension;
        float eps = _geometry.LayerNormEpsilon;
        var x = _a.X(tokens);
        var y = _a.Y(tokens);
        var q = _a.Q(tokens);
        var k = _a.K(tokens);
        var v = _a.V(tokens);
        var attention = _a.Attention(tokens);
        var lengths = _a.Lengths(batch);

        // q, k, v projections of every row
        _gemm.Linear(x, tokens, b.Query, b.QueryBias, q, gelu: false);
        _gemm.Linear(x, tokens, b.Key, b.KeyBias, k, gelu: false);
        _gemm.Linear(x, tokens, b.Value, b.ValueBias, v, gelu: false);
        Profile?.Mark("q, k, v projections");

        // attention within each sentence, padding keys masked
        _ops.Attention(q, k, v, attention, lengths, batch, tmax, _geometry.Heads, _geometry.HeadDimension);
        Profile?.Mark("attention");

        // y = LN1(x + attention Wo^T + bo)
        _gemm.Linear(attention, tokens, b.Output, b.OutputBias, y, gelu: false);
        Profile?.Mark("output projection");
        _ops.AddNormalize(y, x, b.Norm1Weight, b.Norm1Bias, lengths, tmax, tokens, d, eps);
        Profile?.Mark("layer norms");

        // x = LN2(y + GELU(y W1^T + b1) W2^T + b2); x *= pad_mask
        var ffn = _a.FeedForward(tokens);
        _gemm.Linear(y, tokens, b.FeedForward1, b.FeedForward1Bias, ffn, gelu: true);
        _gemm.Linear(ffn, tokens, b.FeedForward2, b.FeedForward2Bias, x, gelu: false);
        Profile?.Mark("feed-forward");
        _ops.AddNormalize(x, y, b.Norm2Weight, b.Norm2Bias, lengths, tmax, tokens, d, eps);
        Profile?.Mark("layer norms");
    }

    /// <summary>One copy to the device per call: padded ids [B·Tmax], lengths [B], language ids [B], and the rows asked for as padded indexes [M].</summary>
    private void UploadBatch(ReadOnlySpan<int> ids, ReadOnlySpan<int> lengths, ReadOnlySpan<int> languageIds, ReadOnlySpan<int> rows, int tmax)
    {
        int batch = lengths.Length, tokens = batch * tmax;
        int total = tokens + 2 * batch + rows.Length;
        if (_staging.Length < total)
            _staging = new int[Math.Max(total, 2 * _staging.Length)];
        var padded = _staging.AsSpan(0, tokens);
        padded.Clear();
        int at = 0;
        for (int s = 0; s < batch; s++)
        {
            ids.Slice(at, lengths[s]).CopyTo(padded.Slice(s * tmax));
            at += lengths[s];
        }
        lengths.CopyTo(_staging.AsSpan(tokens));
        languageIds.CopyTo(_staging.AsSpan(tokens + batch));
        // rows index the packed ids; the device holds sentence s's token p at s·Tmax + p
        var paddedRows = _staging.AsSpan(tokens + 2 * batch, rows.Length);
        for (int r = 0; r < rows.Length; r++)
        {
            int row = rows[r], s = 0, start = 0;
            while (row >= start + lengths[s])
                start += lengths[s++];
            paddedRows[r] = s * tmax + row - start;
        }
        _a.Integers(total).CopyFromCPU(ref _staging[0], total);
    }

    public void Dispose()
    {
        // freeing CUDA memory needs the context current on this thread
        _memory.Accelerator.Bind();
        _a.Dispose();
        _gemm.Dispose();
        _weights.Dispose();
        _memory.Dispose();
    }
}

/// <summary>What benchmarks see of a device encoder, whatever its weight type.</summary>
internal interface IDeviceEncoder : IEncoderBackend
{
    /// <summary>When set (benchmarks), each call records its phases' device times here.</summary>
    DeviceProfile? Profile { get; set; }

    Accelerator Accelerator { get; }

    /// <summary>Kernel launches and cuBLAS calls so far.</summary>
    long Launches { get; }
}
