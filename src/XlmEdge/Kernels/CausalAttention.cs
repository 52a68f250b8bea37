using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace XlmEdge.Kernels;

/// <summary>
/// Causal multi-head attention of new positions against a key/value cache: the attention of the
/// causal (xlm-clm-*) checkpoints, where position p attends positions 0..p only (XLM
/// <c>get_masks(causal=True)</c>). A whole sentence is one call with no cached past; a generation
/// step is one query against everything cached before it.
/// </summary>
/// <remarks>
/// Per head and query row: scores against every visible key (one dot product of headDim per key),
/// the scaled softmax in fp32 shifted by its maximum, then the probability-weighted sum of value
/// rows. A generation step reads each cached key and value once, which is all the work there is;
/// the panel packing of <see cref="Attention"/> would cost more than it saves at one query.
/// </remarks>
internal static class CausalAttention
{
    /// <summary>Query rows per work item when several new positions run at once.</summary>
    internal const int QueryBlock = 16;

    /// <summary>
    /// q, output: [n, heads*headDim], the rows of positions start .. start+n-1. keys, values: at
    /// least [start+n, heads*headDim]: every position up to the last new one (the cache, the new
    /// rows already appended). output[i] = softmax((q_i / sqrt(headDim)) K[0..start+i]^T) V[0..start+i],
    /// per head; head j owns features j*headDim .. (j+1)*headDim - 1. Work is split over heads and
    /// blocks of query rows.
    /// </summary>
    public static void Forward(WorkerPool pool, ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        int start, int n, int heads, int headDim, Span<float> output) =>
        Forward(CpuFeatures.Selected, pool, q, keys, values, start, n, heads, headDim, output);

    internal static void Forward(SimdPath path, WorkerPool pool, ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        int start, int n, int heads, int headDim, Span<float> output)
    {
        Validate(q, keys, values, start, n, heads, headDim, output);
        if (n == 0)
            return;
        if (path == SimdPath.Scalar)
        {
            ForwardScalar(q, keys, values, start, n, heads, headDim, output);
            return;
        }
        pool.EnsureScratch(start + n);
        var job = new Job
        {
            Path = path, Pool = pool, Q = q, K = keys, V = values, Output = output,
            Start = start, N = n, Heads = heads, HeadDim = headDim, Blocks = (n + QueryBlock - 1) / QueryBlock,
        };
#if NET9_0_OR_GREATER
        pool.For(heads * job.Blocks, ref job);
#else
        // net8.0 has no ref struct type arguments: the job cannot reach the pool and runs on this thread.
        for (int item = 0, items = heads * job.Blocks; item < items; item++)
            job.Execute(item, 0);
#endif
    }

    /// <summary>The scalar twin: plain loops, one head and one query row at a time, on the calling thread.</summary>
    internal static void ForwardScalar(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        int start, int n, int heads, int headDim, Span<float> output)
    {
        Validate(q, keys, values, start, n, heads, headDim, output);
        int width = heads * headDim;
        float scale = 1f / MathF.Sqrt(headDim);
        // Rented, not new: the scalar path (XLMEDGE_SIMD=scalar) allocates nothing per call either.
        float[] scores = ArrayPool<float>.Shared.Rent(start + n);
        for (int head = 0; head < heads; head++)
        {
            int offset = head * headDim;
            // query i of the new rows sees the cache and the new rows up to itself: start + i + 1 keys
            for (int i = 0; i < n; i++)
                Attention.AttendRowScalar(q.Slice(i * width + offset, headDim), keys, values, offset, width, scale,
                    scores.AsSpan(0, start + i + 1), output.Slice(i * width + offset, headDim));
        }
        ArrayPool<float>.Shared.Return(scores);
    }

    private static void Validate(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        int start, int n, int heads, int headDim, Span<float> output)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(headDim, 1);
        long width = (long)heads * headDim;
        if (q.Length < n * width || output.Length < n * width)
            throw new ArgumentException($"q and output need n*heads*headDim = {n * width} floats.");
        if (keys.Length < (start + n) * width || values.Length < (start + n) * width)
            throw new ArgumentException($"keys and values need (start+n)*heads*headDim = {(start + n) * width} floats.");
    }

    private ref struct Job : IParallelJob
    {
        public SimdPath Path;
        public WorkerPool Pool;
        public ReadOnlySpan<float> Q, K, V;
        public Span<float> Output;
        public int Start, N, Heads, HeadDim, Blocks;

        public readonly void Execute(int index, int worker)
        {
            int head = index / Blocks, first = index % Blocks * QueryBlock, end = Math.Min(N, first + QueryBlock);
            switch (Path)
            {
                case SimdPath.Vector512: Rows<Simd512, Vector512<float>>(head, first, end, worker); break;
                case SimdPath.Vector256: Rows<Simd256, Vector256<float>>(head, first, end, worker); break;
                default: Rows<Simd128, Vector128<float>>(head, first, end, worker); break;
            }
        }

        private readonly void Rows<TS, TVec>(int head, int first, int end, int worker) where TS : struct, ISimd<TVec> where TVec : struct
        {
            int hd = HeadDim, stride = Heads * hd, offset = head * hd;
            float scale = 1f / MathF.Sqrt(hd);
            var scores = Pool.Scratch(worker, Start + N);
            for (int i = first; i < end; i++)
            {
                int visible = Start + i + 1;
                ref float qi = ref Unsafe.AsRef(in Q[i * stride + offset]);
                ref float k0 = ref Unsafe.AsRef(in K[offset]);
                for (int j = 0; j < visible; j++)
                    scores[j] = Dot<TS, TVec>(ref qi, ref Unsafe.Add(ref k0, j * stride), hd) * scale;
                var p = scores[..visible];
                Softmax.InPlace<TS, TVec>(p);
                ref float oi = ref Output[i * stride + offset];
                ref float v0 = ref Unsafe.AsRef(in V[offset]);
                MemoryMarshal.CreateSpan(ref oi, hd).Clear();
                for (int j = 0; j < visible; j++)
                    AddScaled<TS, TVec>(ref oi, p[j], ref Unsafe.Add(ref v0, j * stride), hd);
            }
        }
    }

    /// <summary>Σ a[c]·b[c] over <paramref name="length"/> floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot<TS, TVec>(ref float a, ref float b, int length) where TS : struct, ISimd<TVec> where TVec : struct
    {
        var sum = TS.Zero;
        int c = 0;
        for (; c <= length - TS.Count; c += TS.Count)
            sum = TS.MultiplyAdd(TS.Load(in Unsafe.Add(ref a, c)), TS.Load(in Unsafe.Add(ref b, c)), sum);
        float dot = TS.Sum(sum);
        for (; c < length; c++)
            dot += Unsafe.Add(ref a, c) * Unsafe.Add(ref b, c);
        return dot;
    }

    /// <summary>y[c] += p·x[c] over <paramref name="length"/> floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaled<TS, TVec>(ref float y, float p, ref float x, int length) where TS : struct, ISimd<TVec> where TVec : struct
    {
        var vp = TS.Broadcast(p);
        int c = 0;
        for (; c <= length - TS.Count; c += TS.Count)
            TS.Store(TS.MultiplyAdd(TS.Load(in Unsafe.Add(ref x, c)), vp, TS.Load(in Unsafe.Add(ref y, c))), ref Unsafe.Add(ref y, c));
        for (; c < length; c++)
            Unsafe.Add(ref y, c) += p * Unsafe.Add(ref x, c);
    }
}
