using ILGPU;
using ILGPU.Runtime;

namespace XlmEdge.Gpu;

/// <summary>
/// The encoder's device buffers, grown to the largest batch seen (padded rows, sentences, rows
/// asked for) and reused. Growing checks the free device memory first and names the need.
/// </summary>
internal sealed class DeviceActivations(DeviceMemory memory, XlmGeometry geometry) : IDisposable
{
    private int _tokenCapacity, _maskCapacity, _tokens, _batch;
    private MemoryBuffer1D<float, Stride1D.Dense>? _x, _y, _q, _k, _v, _attention, _feedForward, _selected, _logits;
    private MemoryBuffer1D<int, Stride1D.Dense>? _integers;

    public ArrayView<float> X(int tokens) => _x!.View.SubView(0, (long)tokens * geometry.EmbeddingDimension);
    public ArrayView<float> Y(int tokens) => _y!.View.SubView(0, (long)tokens * geometry.EmbeddingDimension);
    public ArrayView<float> Q(int tokens) => _q!.View.SubView(0, (long)tokens * geometry.EmbeddingDimension);
    public ArrayView<float> K(int tokens) => _k!.View.SubView(0, (long)tokens * geometry.EmbeddingDimension);
    public ArrayView<float> V(int tokens) => _v!.View.SubView(0, (long)tokens * geometry.EmbeddingDimension);
    public ArrayView<float> Attention(int tokens) => _attention!.View.SubView(0, (long)tokens * geometry.EmbeddingDimension);
    public ArrayView<float> FeedForward(int tokens) => _feedForward!.View.SubView(0, (long)tokens * geometry.FeedForwardDimension);
    public ArrayView<float> Selected(int masks) => _selected!.View.SubView(0, (long)masks * geometry.EmbeddingDimension);
    public ArrayView<float> Logits(int masks) => _logits!.View.SubView(0, (long)masks * geometry.VocabularySize);

    /// <summary>The per-call integers as uploaded: padded ids [tokens], lengths [batch], language ids [batch], rows [masks].</summary>
    public ArrayView<int> Integers(int count) => _integers!.View.SubView(0, count);
    public ArrayView<int> Ids(int tokens) => _integers!.View.SubView(0, tokens);
    public ArrayView<int> Lengths(int batch) => _integers!.View.SubView(_tokens, batch);
    public ArrayView<int> Languages(int batch) => _integers!.View.SubView(_tokens + _batch, batch);
    public ArrayView<int> Rows(int masks) => _integers!.View.SubView(_tokens + 2L * _batch, masks);

    /// <summary>Device bytes for <paramref name="tokens"/> padded rows and <paramref name="masks"/> output rows.</summary>
    public static long Bytes(XlmGeometry c, long tokens, long masks) =>
        4 * (tokens * (6L * c.EmbeddingDimension + c.FeedForwardDimension + 3) + masks * ((long)c.EmbeddingDimension + c.VocabularySize + 1));

    /// <summary>Makes room for a call; the buffers only grow.</summary>
    public void EnsureCapacity(int tokens, int batch, int masks)
    {
        // the kernels index with 32-bit integers
        if ((long)tokens * geometry.FeedForwardDimension > int.MaxValue || (long)masks * geometry.VocabularySize > int.MaxValue)
            throw new InvalidInputException($"{batch} inputs padded to {tokens / batch} tokens are too many for the device kernels' 32-bit indexes; split the batch");
        _tokens = tokens;
        _batch = batch;
        if (tokens <= _tokenCapacity && masks <= _maskCapacity)
            return;
        long t = Math.Max(tokens, _tokenCapacity), m = Math.Max(masks, _maskCapacity);
        // the old buffers are freed before the new ones are taken
        memory.EnsureFree($"a call of {batch} input{(batch == 1 ? "" : "s")} padded to {tokens / batch} tokens with {masks} output row{(masks == 1 ? "" : "s")}",
            Bytes(geometry, t, m) - Bytes(geometry, _tokenCapacity, _maskCapacity));
        Release();
        int d = geometry.EmbeddingDimension;
        _x = memory.Allocate<float>(t * d, "activations");
        _y = memory.Allocate<float>(t * d, "activations");
        _q = memory.Allocate<float>(t * d, "activations");
        _k = memory.Allocate<float>(t * d, "activations");
        _v = memory.Allocate<float>(t * d, "activations");
        _attention = memory.Allocate<float>(t * d, "activations");
        _feedForward = memory.Allocate<float>(t * geometry.FeedForwardDimension, "activations");
        _selected = memory.Allocate<float>(m * d, "output rows");
        _logits = memory.Allocate<float>(m * geometry.VocabularySize, "logits");
        // ids, lengths and language ids (each sentence holds a token), rows
        _integers = memory.Allocate<int>(3 * t + m, "batch ids");
        _tokenCapacity = (int)t;
        _maskCapacity = (int)m;
    }

    private void Release()
    {
        memory.Free(_x);
        memory.Free(_y);
        memory.Free(_q);
        memory.Free(_k);
        memory.Free(_v);
        memory.Free(_attention);
        memory.Free(_feedForward);
        memory.Free(_selected);
        memory.Free(_logits);
        memory.Free(_integers);
        _x = _y = _q = _k = _v = _attention = _feedForward = _selected = _logits = null;
        _integers = null;
        _tokenCapacity = _maskCapacity = 0;
    }

    public void Dispose() => Release();
}
