using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using XlmEdge.Model;
using DeviceHalf = ILGPU.Half;

namespace XlmEdge.Gpu;

/// <summary>A weight matrix [Rows, Columns] (HF Linear layout [out, in]) in device memory.</summary>
internal readonly record struct DeviceMatrix<TW>(ArrayView<TW> View, int Rows, int Columns) where TW : unmanaged;

/// <summary>One block's weights on the device (names as <see cref="XlmBlock"/>).</summary>
internal sealed class DeviceBlock<TW> where TW : unmanaged
{
    public required DeviceMatrix<TW> Query, Key, Value, Output, FeedForward1, FeedForward2;
    public required ArrayView<float> QueryBias, KeyBias, ValueBias, OutputBias, FeedForward1Bias, FeedForward2Bias;
    public required ArrayView<float> Norm1Weight, Norm1Bias, Norm2Weight, Norm2Bias;
}

/// <summary>
/// Every tensor of <see cref="XlmWeights"/> copied to the device once, when the model loads. Matrices
/// are stored as <typeparamref name="TW"/>: fp16 as the file holds them for the own GEMM kernel, or
/// fp32 for cuBLAS Sgemm, widened on the device after an fp16 upload (half the bytes over PCIe).
/// 1-D tensors stay fp32.
/// </summary>
internal sealed class DeviceWeights<TW> : IDisposable where TW : unmanaged
{
    private readonly DeviceMemory _memory;
    private readonly List<Action> _free = [];

    private DeviceWeights(DeviceMemory memory) => _memory = memory;

    public DeviceMatrix<TW> WordEmbeddings { get; private set; }
    public DeviceMatrix<TW> PositionEmbeddings { get; private set; }
    public DeviceMatrix<TW>? LanguageEmbeddings { get; private set; }
    public ArrayView<float> EmbeddingNormWeight { get; private set; }
    public ArrayView<float> EmbeddingNormBias { get; private set; }
    public DeviceBlock<TW>[] Blocks { get; private set; } = [];
    public ArrayView<float> OutputBias { get; private set; }

    /// <summary>Device bytes the weights take, plus the fp16 staging buffer when they are widened on the device.</summary>
    public static long Bytes(XlmWeights w)
    {
        long matrices = 0, vectors = 0, staging = 0;
        foreach (var m in Matrices(w))
        {
            matrices += (long)m.Rows * m.Columns;
            if (typeof(TW) == typeof(float) && m.IsHalf)
                staging = Math.Max(staging, (long)m.Rows * m.Columns * 2);
        }
        foreach (var v in Vectors(w))
            vectors += v.Span.Length;
        return matrices * Marshal.SizeOf<TW>() + vectors * sizeof(float) + staging;
    }

    /// <summary>Uploads every tensor; <paramref name="widen"/> turns fp16 into fp32 on the device when TW is fp32.</summary>
    public static DeviceWeights<TW> Upload(DeviceMemory memory, XlmWeights w, Action<ArrayView<DeviceHalf>, ArrayView<float>, int>? widen)
    {
        memory.EnsureFree($"the model's weights ({(typeof(TW) == typeof(float) ? "fp32" : "fp16")} matrices)", Bytes(w));
        var device = new DeviceWeights<TW>(memory);
        try
        {
            device.UploadAll(w, widen);
            return device;
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    private void UploadAll(XlmWeights w, Action<ArrayView<DeviceHalf>, ArrayView<float>, int>? widen)
    {
        MemoryBuffer1D<DeviceHalf, Stride1D.Dense>? staging = null;
        try
        {
            DeviceMatrix<TW> Matrix(WeightMatrix m) => new(UploadMatrix(m, widen, ref staging), m.Rows, m.Columns);
            WordEmbeddings = Matrix(w.WordEmbeddings);
            PositionEmbeddings = Matrix(w.PositionEmbeddings);
            LanguageEmbeddings = w.LanguageEmbeddings is { } l ? Matrix(l) : null;
            EmbeddingNormWeight = Vector(w.EmbeddingNormWeight);
            EmbeddingNormBias = Vector(w.EmbeddingNormBias);
            OutputBias = Vector(w.OutputBias);
            Blocks = [.. w.Blocks.Select(b => new DeviceBlock<TW>
            {
                Query = Matrix(b.Query),
                Key = Matrix(b.Key),
                Value = Matrix(b.Value),
                Output = Matrix(b.Output),
                FeedForward1 = Matrix(b.FeedForward1),
                FeedForward2 = Matrix(b.FeedForward2),
                QueryBias = Vector(b.QueryBias),
                KeyBias = Vector(b.KeyBias),
                ValueBias = Vector(b.ValueBias),
                OutputBias = Vector(b.OutputBias),
                FeedForward1Bias = Vector(b.FeedForward1Bias),
                FeedForward2Bias = Vector(b.FeedForward2Bias),
                Norm1Weight = Vector(b.Norm1Weight),
                Norm1Bias = Vector(b.Norm1Bias),
                Norm2Weight = Vector(b.Norm2Weight),
                Norm2Bias = Vector(b.Norm2Bias),
            })];
            _memory.Accelerator.Synchronize();
        }
        finally
        {
            _memory.Free(staging);
        }
    }

    private ArrayView<TW> UploadMatrix(WeightMatrix m, Action<ArrayView<DeviceHalf>, ArrayView<float>, int>? widen,
        ref MemoryBuffer1D<DeviceHalf, Stride1D.Dense>? staging)
    {
        int count = m.Rows * m.Columns;
        var buffer = Allocate<TW>(count);
        if (typeof(TW) == typeof(DeviceHalf))
        {
            var source = MemoryMarshal.Cast<System.Half, TW>(m.RowMajorHalf());
            buffer.View.CopyFromCPU(ref MemoryMarshal.GetReference(source), count);
        }
        else if (m.IsHalf)
        {
            // fp16 over the bus, widened on the device: the copy the GPU waits for is half the size
            if (widen is null)
                throw new InvalidOperationException("fp16 weights need a widening kernel for fp32 storage");
            if (staging is null || staging.Length < count)
            {
                _memory.Free(staging);
                staging = null;
                staging = _memory.Allocate<DeviceHalf>(count, "the fp16 upload of a weight matrix");
            }
            var source = MemoryMarshal.Cast<System.Half, DeviceHalf>(m.RowMajorHalf());
            staging.View.SubView(0, count).CopyFromCPU(ref MemoryMarshal.GetReference(source), count);
            widen(staging.View.SubView(0, count), ((ArrayView<TW>)buffer.View).Cast<float>(), count);
            // the staging buffer is reused by the next matrix: let this widening finish first
            _memory.Accelerator.Synchronize();
        }
        else
        {
            var source = MemoryMarshal.Cast<float, TW>(m.RowMajorSingle());
            buffer.View.CopyFromCPU(ref MemoryMarshal.GetReference(source), count);
        }
        return buffer.View;
    }

    private ArrayView<float> Vector(WeightVector v)
    {
        var buffer = Allocate<float>(v.Span.Length);
        buffer.View.CopyFromCPU(ref MemoryMarshal.GetReference(v.Span), v.Span.Length);
        return buffer.View;
    }

    private MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(int count) where T : unmanaged
    {
        var buffer = _memory.Allocate<T>(count, "the model's weights");
        _free.Add(() => _memory.Free(buffer));
        return buffer;
    }

    private static IEnumerable<WeightMatrix> Matrices(XlmWeights w)
    {
        yield return w.WordEmbeddings;
        yield return w.PositionEmbeddings;
        if (w.LanguageEmbeddings is { } l)
            yield return l;
        foreach (var b in w.Blocks)
        {
            yield return b.Query;
            yield return b.Key;
            yield return b.Value;
            yield return b.Output;
            yield return b.FeedForward1;
            yield return b.FeedForward2;
        }
    }

    private static IEnumerable<WeightVector> Vectors(XlmWeights w)
    {
        yield return w.EmbeddingNormWeight;
        yield return w.EmbeddingNormBias;
        yield return w.OutputBias;
        foreach (var b in w.Blocks)
        {
            yield return b.QueryBias;
            yield return b.KeyBias;
            yield return b.ValueBias;
            yield return b.OutputBias;
            yield return b.FeedForward1Bias;
            yield return b.FeedForward2Bias;
            yield return b.Norm1Weight;
            yield return b.Norm1Bias;
            yield return b.Norm2Weight;
            yield return b.Norm2Bias;
        }
    }

    /// <summary>Whether every matrix of the file is fp16 (so fp16 device storage holds them as they are).</summary>
    public static bool AllHalf(XlmWeights w) => Matrices(w).All(m => m.IsHalf);

    public void Dispose()
    {
        foreach (var free in _free)
            free();
        _free.Clear();
    }
}
