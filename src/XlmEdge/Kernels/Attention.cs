using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace XlmEdge.Kernels;

/// <summary>Multi-head self-attention of one sentence (no padding, no mask: every key is valid).</summary>
internal static class Attention
{
    /// <summary>Query rows one work item handles; long sentences split each head into blocks of this many.</summary>
    internal const int QueryBlock = 32;

    /// <summary>Floats of scratch SelfAttention needs: one score row per concurrently runnable item.</summary>
    public static int ScratchLength(int T, int heads) => checked(heads * QueryBlocks(T) * T);

    /// <summary>
    /// q, k, v, output: [T, heads*headDim]; head j owns features j*headDim .. (j+1)*headDim - 1.
    /// output = softmax((q / sqrt(headDim)) k^T) v per head, the softmax in fp32 shifted by the row maximum.
    /// Work is split over heads and blocks of <see cref="QueryBlock"/> query rows. Each item first copies
    /// its head's keys and values into contiguous rows of the worker's pool scratch: in place they sit
    /// 4 KB apart (d = 1024 floats), so every key of a head maps to the same few L1 sets and thrashes.
    /// </summary>
    public static void SelfAttention(WorkerPool pool, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T, int heads, int headDim, Span<float> output, Span<float> scratch) =>
        SelfAttention(CpuFeatures.Selected, pool, q, k, v, T, heads, headDim, output, scratch);

    internal static void SelfAttention(SimdPath path, WorkerPool pool, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T, int heads, int headDim, Span<float> output, Span<float> scratch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(T);
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(headDim, 1);
        long size = (long)T * heads * headDim;
        if (q.Length < size || k.Length < size || v.Length < size || output.Length < size)
            throw new ArgumentException($"q, k, v and output need T*heads*headDim = {size} floats.");
        if (scratch.Length < ScratchLength(T, heads))
            throw new ArgumentException($"scratch holds {scratch.Length} floats; {ScratchLength(T, heads)} needed.", nameof(scratch));
        if (T == 0)
            return;
        pool.EnsureScratch(checked(2 * T * headDim));
        var job = new Job
        {
            Path = path, Pool = pool, Q = q, K = k, V = v, T = T, Heads = heads, HeadDim = headDim,
            Output = output, Scratch = scratch, Blocks = QueryBlocks(T),
        };
        pool.For(heads * job.Blocks, ref job);
    }

    /// <summary>The scalar twin: plain loops, one head and one query row at a time, on the calling thread.</summary>
    internal static void SelfAttentionScalar(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T, int heads, int headDim, Span<float> output, Span<float> scratch)
    {
        var job = new Job
        {
            Path = SimdPath.Scalar, Q = q, K = k, V = v, T = T, Heads = heads, HeadDim = headDim,
            Output = output, Scratch = scratch, Blocks = QueryBlocks(T),
        };
        for (int i = 0; i < heads * job.Blocks; i++)
            job.Execute(i, 0);
    }

    private static int QueryBlocks(int T) => (T + QueryBlock - 1) / QueryBlock;

    private ref struct Job : IParallelJob
    {
        public SimdPath Path;
        public WorkerPool? Pool;
        public ReadOnlySpan<float> Q, K, V;
        public Span<float> Output, Scratch;
        public int T, Heads, HeadDim, Blocks;

        public readonly void Execute(int index, int worker)
        {
            int head = index / Blocks, block = index % Blocks;
            int first = block * QueryBlock, end = Math.Min(T, first + QueryBlock);
            var scores = Scratch.Slice(index * T, T);
            switch (Path)
            {
                case SimdPath.Vector512: Rows<Simd512, Vector512<float>>(head, first, end, scores, Pool!.Scratch(worker, 2 * T * HeadDim)); break;
                case SimdPath.Vector256: Rows<Simd256, Vector256<float>>(head, first, end, scores, Pool!.Scratch(worker, 2 * T * HeadDim)); break;
                case SimdPath.Vector128: Rows<Simd128, Vector128<float>>(head, first, end, scores, Pool!.Scratch(worker, 2 * T * HeadDim)); break;
                default: RowsScalar(head, first, end, scores); break;
            }
        }

        private readonly void RowsScalar(int head, int first, int end, Span<float> scores)
        {
            int width = Heads * HeadDim, offset = head * HeadDim;
            float scale = 1f / MathF.Sqrt(HeadDim);
            for (int i = first; i < end; i++)
            {
                var qi = Q.Slice(i * width + offset, HeadDim);
                for (int j = 0; j < T; j++)
                {
                    var kj = K.Slice(j * width + offset, HeadDim);
                    float dot = 0;
                    for (int c = 0; c < HeadDim; c++)
                        dot += qi[c] * kj[c];
                    scores[j] = dot * scale;
                }
                Softmax.InPlaceScalar(scores);
                var oi = Output.Slice(i * width + offset, HeadDim);
                oi.Clear();
                for (int j = 0; j < T; j++)
                {
                    var vj = V.Slice(j * width + offset, HeadDim);
                    for (int c = 0; c < HeadDim; c++)
                        oi[c] += scores[j] * vj[c];
                }
            }
        }

        private readonly void Rows<TS, TVec>(int head, int first, int end, Span<float> scores, Span<float> packed) where TS : struct, ISimd<TVec> where TVec : struct
        {
            int stride = Heads * HeadDim, offset = head * HeadDim, hd = HeadDim, vecEnd = hd - hd % TS.Count;
            var keys = packed[..(T * hd)];
            var values = packed.Slice(T * hd, T * hd);
            for (int j = 0; j < T; j++)
            {
                K.Slice(j * stride + offset, hd).CopyTo(keys.Slice(j * hd, hd));
                V.Slice(j * stride + offset, hd).CopyTo(values.Slice(j * hd, hd));
            }
            float scale = 1f / MathF.Sqrt(hd);
            ref float q0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(Q), offset);
            ref float k0 = ref MemoryMarshal.GetReference(keys);
            ref float v0 = ref MemoryMarshal.GetReference(values);
            ref float o0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(Output), offset);
            ref float s = ref MemoryMarshal.GetReference(scores);
            for (int i = first; i < end; i++)
            {
                ref float qi = ref Unsafe.Add(ref q0, i * stride);
                int j = 0;
                // Four keys at a time: the query vector is loaded once for four dot products.
                for (; j <= T - 4; j += 4)
                {
                    ref float ka = ref Unsafe.Add(ref k0, j * hd);
                    ref float kb = ref Unsafe.Add(ref ka, hd);
                    ref float kc = ref Unsafe.Add(ref kb, hd);
                    ref float kd = ref Unsafe.Add(ref kc, hd);
                    TVec a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero;
                    int c = 0;
                    for (; c < vecEnd; c += TS.Count)
                    {
                        var qv = TS.Load(in Unsafe.Add(ref qi, c));
                        a0 = TS.MultiplyAdd(qv, TS.Load(in Unsafe.Add(ref ka, c)), a0);
                        a1 = TS.MultiplyAdd(qv, TS.Load(in Unsafe.Add(ref kb, c)), a1);
                        a2 = TS.MultiplyAdd(qv, TS.Load(in Unsafe.Add(ref kc, c)), a2);
                        a3 = TS.MultiplyAdd(qv, TS.Load(in Unsafe.Add(ref kd, c)), a3);
                    }
                    float d0 = TS.Sum(a0), d1 = TS.Sum(a1), d2 = TS.Sum(a2), d3 = TS.Sum(a3);
                    for (; c < hd; c++)
                    {
                        float qc = Unsafe.Add(ref qi, c);
                        d0 += qc * Unsafe.Add(ref ka, c);
                        d1 += qc * Unsafe.Add(ref kb, c);
                        d2 += qc * Unsafe.Add(ref kc, c);
                        d3 += qc * Unsafe.Add(ref kd, c);
                    }
                    Unsafe.Add(ref s, j) = d0 * scale;
                    Unsafe.Add(ref s, j + 1) = d1 * scale;
                    Unsafe.Add(ref s, j + 2) = d2 * scale;
                    Unsafe.Add(ref s, j + 3) = d3 * scale;
                }
                for (; j < T; j++)
                {
                    ref float kj = ref Unsafe.Add(ref k0, j * hd);
                    var acc = TS.Zero;
                    int c = 0;
                    for (; c < vecEnd; c += TS.Count)
                        acc = TS.MultiplyAdd(TS.Load(in Unsafe.Add(ref qi, c)), TS.Load(in Unsafe.Add(ref kj, c)), acc);
                    float dot = TS.Sum(acc);
                    for (; c < hd; c++)
                        dot += Unsafe.Add(ref qi, c) * Unsafe.Add(ref kj, c);
                    Unsafe.Add(ref s, j) = dot * scale;
                }

                Softmax.InPlace<TS, TVec>(scores);

                // output_i = Σ_j p_j v_j, four output vectors held in registers per pass over the keys.
                ref float oi = ref Unsafe.Add(ref o0, i * stride);
                int f = 0;
                for (; f <= vecEnd - 4 * TS.Count; f += 4 * TS.Count)
                {
                    TVec c0 = TS.Zero, c1 = TS.Zero, c2 = TS.Zero, c3 = TS.Zero;
                    for (int jj = 0; jj < T; jj++)
                    {
                        var p = TS.Broadcast(Unsafe.Add(ref s, jj));
                        ref float vj = ref Unsafe.Add(ref v0, jj * hd + f);
                        c0 = TS.MultiplyAdd(p, TS.Load(in vj), c0);
                        c1 = TS.MultiplyAdd(p, TS.Load(in Unsafe.Add(ref vj, TS.Count)), c1);
                        c2 = TS.MultiplyAdd(p, TS.Load(in Unsafe.Add(ref vj, 2 * TS.Count)), c2);
                        c3 = TS.MultiplyAdd(p, TS.Load(in Unsafe.Add(ref vj, 3 * TS.Count)), c3);
                    }
                    TS.Store(c0, ref Unsafe.Add(ref oi, f));
                    TS.Store(c1, ref Unsafe.Add(ref oi, f + TS.Count));
                    TS.Store(c2, ref Unsafe.Add(ref oi, f + 2 * TS.Count));
                    TS.Store(c3, ref Unsafe.Add(ref oi, f + 3 * TS.Count));
                }
                for (; f < vecEnd; f += TS.Count)
                {
                    var c0 = TS.Zero;
                    for (int jj = 0; jj < T; jj++)
                        c0 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref s, jj)), TS.Load(in Unsafe.Add(ref v0, jj * hd + f)), c0);
                    TS.Store(c0, ref Unsafe.Add(ref oi, f));
                }
                for (; f < hd; f++)
                {
                    float sum = 0;
                    for (int jj = 0; jj < T; jj++)
                        sum += Unsafe.Add(ref s, jj) * Unsafe.Add(ref v0, jj * hd + f);
                    Unsafe.Add(ref oi, f) = sum;
                }
            }
        }
    }
}
