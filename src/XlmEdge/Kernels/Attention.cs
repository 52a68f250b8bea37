using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace XlmEdge.Kernels;

/// <summary>Multi-head self-attention of one sentence (no padding, no mask: every key is valid).</summary>
/// <remarks>
/// Both products run on <see cref="MicroKernels"/>, as the Linear GEMM does: each item first packs its
/// head's keys and values into k-major panels of 2·lanes in the worker's pool scratch (in place they sit
/// 4 KB apart at d = 1024, so a head's keys map to the same few L1 sets, and a kernel reading them
/// row by row would fetch a vector per cache line). Then per group of <see cref="Tiling{TS, TVec}.Rows"/>
/// queries: scores = q·K^T (query values broadcast against key panels), the scaled softmax of each row,
/// and output = P·V (probabilities broadcast against value panels). Six queries per pass (twelve with
/// AVX-512) keep the panel traffic at two vector loads per 12 (24) FMAs, which L2 sustains when a head's
/// keys and values (T·headDim·8 bytes) outgrow L1.
/// </remarks>
internal static class Attention
{
    /// <summary>Query rows per block of the work split: bounds how finely a head's queries are shared out.</summary>
    internal const int QueryBlock = 32;

    /// <summary>
    /// q, k, v, output: [T, heads*headDim]; head j owns features j*headDim .. (j+1)*headDim - 1.
    /// output = softmax((q / sqrt(headDim)) k^T) v per head, the softmax in fp32 shifted by the row maximum.
    /// Work is split over heads and, when there are fewer heads than twice the threads, blocks of query rows.
    /// </summary>
    public static void SelfAttention(WorkerPool pool, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T, int heads, int headDim, Span<float> output) =>
        SelfAttention(CpuFeatures.Selected, pool, q, k, v, T, heads, headDim, output);

    internal static void SelfAttention(SimdPath path, WorkerPool pool, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T, int heads, int headDim, Span<float> output)
    {
        Validate(q, k, v, T, heads, headDim, output);
        if (T == 0)
            return;
        switch (path)
        {
            case SimdPath.Vector512: Run<Simd512, Vector512<float>>(pool, q, k, v, T, heads, headDim, output); break;
            case SimdPath.Vector256: Run<Simd256, Vector256<float>>(pool, q, k, v, T, heads, headDim, output); break;
            case SimdPath.Vector128: Run<Simd128, Vector128<float>>(pool, q, k, v, T, heads, headDim, output); break;
            default: SelfAttentionScalar(q, k, v, T, heads, headDim, output); break;
        }
    }

    /// <summary><see cref="SelfAttention(WorkerPool, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, Span{float})"/> on width <typeparamref name="TS"/>, chosen once by the caller (the generated forwards).</summary>
    internal static void SelfAttention<TS, TVec>(WorkerPool pool, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T, int heads, int headDim, Span<float> output)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        Validate(q, k, v, T, heads, headDim, output);
        if (T > 0)
            Run<TS, TVec>(pool, q, k, v, T, heads, headDim, output);
    }

    private static void Run<TS, TVec>(WorkerPool pool, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T, int heads, int headDim, Span<float> output)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        pool.EnsureScratch(ScratchLength<TS, TVec>(T, headDim));
        var job = new Job<TS, TVec> { Pool = pool, Q = q, K = k, V = v, T = T, Heads = heads, HeadDim = headDim, Output = output };
        // As few query blocks as keep every thread busy: each item packs its head's keys and values,
        // which costs about as much as scoring a block of 32 queries at T = 128.
        job.Blocks = Math.Min(QueryBlocks(T), Math.Max(1, (2 * pool.Threads + heads - 1) / heads));
        job.BlockRows = (T + job.Blocks - 1) / job.Blocks;
#if NET9_0_OR_GREATER
        pool.For(heads * job.Blocks, ref job);
#else
        // net8.0 has no ref struct type arguments: the job cannot reach the pool and runs on this thread.
        for (int item = 0, items = heads * job.Blocks; item < items; item++)
            job.Execute(item, 0);
#endif
    }

    /// <summary>The scalar twin: plain loops, one head and one query row at a time, on the calling thread.</summary>
    internal static void SelfAttentionScalar(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T, int heads, int headDim, Span<float> output)
    {
        Validate(q, k, v, T, heads, headDim, output);
        int width = heads * headDim;
        float scale = 1f / MathF.Sqrt(headDim);
        // Rented, not new: the scalar path (XLMEDGE_SIMD=scalar) allocates nothing per call either.
        float[] rented = ArrayPool<float>.Shared.Rent(T);
        var scores = rented.AsSpan(0, T);
        for (int head = 0; head < heads; head++)
        {
            int offset = head * headDim;
            for (int i = 0; i < T; i++)
                AttendRowScalar(q.Slice(i * width + offset, headDim), k, v, offset, width, scale, scores, output.Slice(i * width + offset, headDim));
        }
        ArrayPool<float>.Shared.Return(rented);
    }

    /// <summary>
    /// One query row <paramref name="qi"/> of one head (at column <paramref name="offset"/> of rows of
    /// <paramref name="width"/>) against the first scores.Length rows of keys and values, into
    /// <paramref name="oi"/>: the step both scalar twins (this and <see cref="CausalAttention"/>'s) repeat.
    /// </summary>
    internal static void AttendRowScalar(ReadOnlySpan<float> qi, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        int offset, int width, float scale, Span<float> scores, Span<float> oi)
    {
        int headDim = qi.Length;
        for (int j = 0; j < scores.Length; j++)
        {
            var kj = keys.Slice(j * width + offset, headDim);
            float dot = 0;
            for (int c = 0; c < headDim; c++)
                dot += qi[c] * kj[c];
            scores[j] = dot * scale;
        }
        Softmax.InPlaceScalar(scores);
        oi.Clear();
        for (int j = 0; j < scores.Length; j++)
        {
            var vj = values.Slice(j * width + offset, headDim);
            for (int c = 0; c < headDim; c++)
                oi[c] += scores[j] * vj[c];
        }
    }

    private static void Validate(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T, int heads, int headDim, Span<float> output)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(T);
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(headDim, 1);
        long size = (long)T * heads * headDim;
        if (q.Length < size || k.Length < size || v.Length < size || output.Length < size)
            throw new ArgumentException($"q, k, v and output need T*heads*headDim = {size} floats.");
    }

    private static int QueryBlocks(int T) => (T + QueryBlock - 1) / QueryBlock;

    /// <summary>Per-worker floats: key panels, value panels, a score row per query of a group, and an output tile.</summary>
    private static int ScratchLength<TS, TVec>(int T, int headDim) where TS : struct, ISimd<TVec> where TVec : struct
    {
        int width = 2 * TS.Count, paddedT = Pad(T, width);
        return checked(paddedT * headDim + Pad(headDim, width) * T + Tiling<TS, TVec>.Rows * (paddedT + width));
    }

    private static int Pad(int count, int width) => (count + width - 1) / width * width;

    private ref struct Job<TS, TVec> : IParallelJob where TS : struct, ISimd<TVec> where TVec : struct
    {
        public WorkerPool Pool;
        public ReadOnlySpan<float> Q, K, V;
        public Span<float> Output;
        public int T, Heads, HeadDim, Blocks, BlockRows;

        public readonly void Execute(int index, int worker)
        {
            int T = this.T, head = index / Blocks, block = index % Blocks;
            int first = block * BlockRows, end = Math.Min(T, first + BlockRows);
            int lanes = TS.Count, width = 2 * lanes, hd = HeadDim, group = Tiling<TS, TVec>.Rows;
            int stride = Heads * hd, offset = head * hd;
            int paddedT = Pad(T, width), paddedHd = Pad(hd, width);
            var scratch = Pool.Scratch(worker, ScratchLength<TS, TVec>(T, hd));
            var keys = scratch[..(paddedT * hd)];
            var values = scratch.Slice(keys.Length, paddedHd * T);
            var scores = scratch.Slice(keys.Length + values.Length, group * paddedT);
            var tile = scratch.Slice(keys.Length + values.Length + scores.Length, group * width);
            PackKeys(head, width, keys);
            PackValues(head, width, values);

            float scale = 1f / MathF.Sqrt(hd);
            int lastKeys = T - (paddedT - width), lastFeatures = hd - (paddedHd - width);
            ref float s0 = ref MemoryMarshal.GetReference(scores);
            for (int i = first; i < end; i += group)
            {
                int rows = Math.Min(group, end - i);
                ref float qi = ref Unsafe.AsRef(in Q[i * stride + offset]);
                for (int j = 0; j < paddedT; j += width)
                {
                    ref float panel = ref keys[j * hd];
                    if (j + width == paddedT && lastKeys <= lanes)
                        MicroKernels.NarrowKernel<TS, TVec>(ref qi, stride, rows, ref panel, hd, ref Unsafe.Add(ref s0, j), paddedT, accumulate: false);
                    else
                        MicroKernels.Kernel<TS, TVec>(ref qi, stride, rows, ref panel, hd, ref Unsafe.Add(ref s0, j), paddedT, accumulate: false);
                }
                for (int r = 0; r < rows; r++)
                {
                    var row = scores.Slice(r * paddedT, T);
                    TensorPrimitives.Multiply(row, scale, row);
                    Softmax.InPlace<TS, TVec>(row);
                }
                for (int f = 0; f < paddedHd; f += width)
                {
                    ref float panel = ref values[f * T];
                    bool last = f + width == paddedHd;
                    // A partial last panel of features goes through the tile: written in place, its
                    // full vectors would overwrite the next head's outputs.
                    bool partial = last && lastFeatures < width;
                    ref float destination = ref partial ? ref MemoryMarshal.GetReference(tile) : ref Output[i * stride + offset + f];
                    int destinationStride = partial ? width : stride;
                    if (last && lastFeatures <= lanes)
                        MicroKernels.NarrowKernel<TS, TVec>(ref s0, paddedT, rows, ref panel, T, ref destination, destinationStride, accumulate: false);
                    else
                        MicroKernels.Kernel<TS, TVec>(ref s0, paddedT, rows, ref panel, T, ref destination, destinationStride, accumulate: false);
                    if (partial)
                        for (int r = 0; r < rows; r++)
                            tile.Slice(r * width, lastFeatures).CopyTo(Output.Slice((i + r) * stride + offset + f, lastFeatures));
                }
            }
        }

        /// <summary>Keys of the head as [T/width][headDim][width] (token j of panel p at lane j - p·width), missing tokens 0.</summary>
        private readonly void PackKeys(int head, int width, Span<float> keys)
        {
            int stride = Heads * HeadDim, offset = head * HeadDim, hd = HeadDim;
            if (T % width != 0)
                keys[((T / width) * width * hd)..].Clear();
            ref float destination = ref MemoryMarshal.GetReference(keys);
            for (int j = 0; j < T; j++)
            {
                ref float panel = ref Unsafe.Add(ref destination, (j / width) * width * hd + j % width);
                var key = K.Slice(j * stride + offset, hd);
                for (int c = 0; c < hd; c++)
                    Unsafe.Add(ref panel, c * width) = key[c];
            }
        }

        /// <summary>Values of the head as [headDim/width][T][width] (feature f of panel p at lane f - p·width), missing features 0.</summary>
        private readonly void PackValues(int head, int width, Span<float> values)
        {
            int stride = Heads * HeadDim, offset = head * HeadDim, hd = HeadDim, T = this.T;
            for (int f = 0; f < hd; f += width)
            {
                int count = Math.Min(width, hd - f);
                var panel = values.Slice(f * T, width * T);
                for (int j = 0; j < T; j++)
                {
                    V.Slice(j * stride + offset + f, count).CopyTo(panel.Slice(j * width, count));
                    if (count < width)
                        panel.Slice(j * width + count, width - count).Clear();
                }
            }
        }
    }
}
