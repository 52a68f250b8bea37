using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace XlmEdge.Kernels;

/// <summary>Multi-head self-attention of one sentence (no padding, no mask: every key is valid).</summary>
internal static class Attention
{
    /// <summary>Query rows per block of the scalar twin; bounds the blocks (and score rows) of the SIMD path.</summary>
    internal const int QueryBlock = 32;

    /// <summary>Floats of scratch SelfAttention needs: two score rows (a query pair) per concurrently runnable item.</summary>
    public static int ScratchLength(int T, int heads) => checked(heads * QueryBlocks(T) * 2 * T);

    /// <summary>
    /// q, k, v, output: [T, heads*headDim]; head j owns features j*headDim .. (j+1)*headDim - 1.
    /// output = softmax((q / sqrt(headDim)) k^T) v per head, the softmax in fp32 shifted by the row maximum.
    /// Work is split over heads and, when there are fewer heads than twice the threads, blocks of query rows. Each item first copies
    /// its head's keys (transposed) and values into the worker's pool scratch: in place they sit 4 KB
    /// apart (d = 1024 floats), so every key of a head maps to the same few L1 sets and thrashes.
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
            Output = output, Scratch = scratch,
        };
        // As few query blocks as keep every thread busy: each item copies its head's keys and values,
        // which costs as much as scoring a block of 32 queries at T = 128.
        job.Blocks = Math.Min(QueryBlocks(T), Math.Max(1, (2 * pool.Threads + heads - 1) / heads));
        job.BlockRows = (T + job.Blocks - 1) / job.Blocks;
        pool.For(heads * job.Blocks, ref job);
    }

    /// <summary>The scalar twin: plain loops, one head and one query row at a time, on the calling thread.</summary>
    internal static void SelfAttentionScalar(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T, int heads, int headDim, Span<float> output, Span<float> scratch)
    {
        var job = new Job
        {
            Path = SimdPath.Scalar, Q = q, K = k, V = v, T = T, Heads = heads, HeadDim = headDim,
            Output = output, Scratch = scratch, Blocks = QueryBlocks(T), BlockRows = QueryBlock,
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
        public int T, Heads, HeadDim, Blocks, BlockRows;

        public readonly void Execute(int index, int worker)
        {
            int head = index / Blocks, block = index % Blocks;
            int first = block * BlockRows, end = Math.Min(T, first + BlockRows);
            var scores = Scratch.Slice(index * 2 * T, 2 * T);
            switch (Path)
            {
                case SimdPath.Vector512: Rows<Simd512, Vector512<float>>(head, first, end, scores, Pool!.Scratch(worker, 2 * T * HeadDim)); break;
                case SimdPath.Vector256: Rows<Simd256, Vector256<float>>(head, first, end, scores, Pool!.Scratch(worker, 2 * T * HeadDim)); break;
                case SimdPath.Vector128: Rows<Simd128, Vector128<float>>(head, first, end, scores, Pool!.Scratch(worker, 2 * T * HeadDim)); break;
                default: RowsScalar(head, first, end, scores[..T]); break;
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
            int stride = Heads * HeadDim, offset = head * HeadDim, hd = HeadDim, T = this.T;
            // Keys transposed ([hd][T]): scores of a query against a run of keys accumulate along the
            // lanes with no horizontal sum per key. Values stay as rows (the output is along features).
            ref float kT = ref MemoryMarshal.GetReference(packed);
            var values = packed.Slice(T * hd, T * hd);
            for (int j = 0; j < T; j++)
            {
                ref float kj = ref Unsafe.Add(ref MemoryMarshal.GetReference(K), j * stride + offset);
                for (int c = 0; c < hd; c++)
                    Unsafe.Add(ref kT, c * T + j) = Unsafe.Add(ref kj, c);
                V.Slice(j * stride + offset, hd).CopyTo(values.Slice(j * hd, hd));
            }
            float scale = 1f / MathF.Sqrt(hd);
            ref float q0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(Q), offset);
            ref float v0 = ref MemoryMarshal.GetReference(values);
            ref float o0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(Output), offset);
            var sa = scores[..T];
            var sb = scores.Slice(T, T);
            // Two query rows per pass: every key and value load feeds two FMAs.
            for (int i = first; i < end; i += 2)
            {
                ref float qa = ref Unsafe.Add(ref q0, i * stride);
                ref float oa = ref Unsafe.Add(ref o0, i * stride);
                if (i + 1 < end)
                {
                    Score<TS, TVec>(ref kT, T, hd, ref qa, ref Unsafe.Add(ref qa, stride), scale, sa, sb);
                    Softmax.InPlace<TS, TVec>(sa);
                    Softmax.InPlace<TS, TVec>(sb);
                    Mix<TS, TVec>(ref v0, T, hd, sa, sb, ref oa, ref Unsafe.Add(ref oa, stride));
                }
                else
                {
                    Score<TS, TVec>(ref kT, T, hd, ref qa, ref qa, scale, sa, sa);
                    Softmax.InPlace<TS, TVec>(sa);
                    Mix<TS, TVec>(ref v0, T, hd, sa, sa, ref oa, ref oa);
                }
            }
        }
    }

    /// <summary>sa[j] = scale·(qa·k_j), sb[j] = scale·(qb·k_j) with keys transposed (kT[c·T + j]).</summary>
    private static void Score<TS, TVec>(ref float kT, int T, int hd, ref float qa, ref float qb, float scale, Span<float> sa, Span<float> sb)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        int n = TS.Count, j = 0;
        ref float ra = ref MemoryMarshal.GetReference(sa);
        ref float rb = ref MemoryMarshal.GetReference(sb);
        var s = TS.Broadcast(scale);
        for (; j <= T - 4 * n; j += 4 * n)
        {
            TVec a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero, b0 = TS.Zero, b1 = TS.Zero, b2 = TS.Zero, b3 = TS.Zero;
            ref float kc = ref Unsafe.Add(ref kT, j);
            for (int c = 0; c < hd; c++)
            {
                var x = TS.Broadcast(Unsafe.Add(ref qa, c));
                var y = TS.Broadcast(Unsafe.Add(ref qb, c));
                var k0 = TS.Load(in kc);
                var k1 = TS.Load(in Unsafe.Add(ref kc, n));
                var k2 = TS.Load(in Unsafe.Add(ref kc, 2 * n));
                var k3 = TS.Load(in Unsafe.Add(ref kc, 3 * n));
                a0 = TS.MultiplyAdd(x, k0, a0);
                b0 = TS.MultiplyAdd(y, k0, b0);
                a1 = TS.MultiplyAdd(x, k1, a1);
                b1 = TS.MultiplyAdd(y, k1, b1);
                a2 = TS.MultiplyAdd(x, k2, a2);
                b2 = TS.MultiplyAdd(y, k2, b2);
                a3 = TS.MultiplyAdd(x, k3, a3);
                b3 = TS.MultiplyAdd(y, k3, b3);
                kc = ref Unsafe.Add(ref kc, T);
            }
            TS.Store(TS.Multiply(a0, s), ref Unsafe.Add(ref ra, j));
            TS.Store(TS.Multiply(a1, s), ref Unsafe.Add(ref ra, j + n));
            TS.Store(TS.Multiply(a2, s), ref Unsafe.Add(ref ra, j + 2 * n));
            TS.Store(TS.Multiply(a3, s), ref Unsafe.Add(ref ra, j + 3 * n));
            TS.Store(TS.Multiply(b0, s), ref Unsafe.Add(ref rb, j));
            TS.Store(TS.Multiply(b1, s), ref Unsafe.Add(ref rb, j + n));
            TS.Store(TS.Multiply(b2, s), ref Unsafe.Add(ref rb, j + 2 * n));
            TS.Store(TS.Multiply(b3, s), ref Unsafe.Add(ref rb, j + 3 * n));
        }
        // Short runs of keys: features split in even and odd steps, so FMA chains stay independent.
        for (; j <= T - n; j += n)
        {
            TVec a0 = TS.Zero, b0 = TS.Zero, a1 = TS.Zero, b1 = TS.Zero;
            ref float kc = ref Unsafe.Add(ref kT, j);
            int c = 0;
            for (; c < hd - 1; c += 2)
            {
                var k0 = TS.Load(in kc);
                var k1 = TS.Load(in Unsafe.Add(ref kc, T));
                a0 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref qa, c)), k0, a0);
                b0 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref qb, c)), k0, b0);
                a1 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref qa, c + 1)), k1, a1);
                b1 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref qb, c + 1)), k1, b1);
                kc = ref Unsafe.Add(ref kc, 2 * T);
            }
            if (c < hd)
            {
                var k0 = TS.Load(in kc);
                a0 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref qa, c)), k0, a0);
                b0 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref qb, c)), k0, b0);
            }
            TS.Store(TS.Multiply(TS.Add(a0, a1), s), ref Unsafe.Add(ref ra, j));
            TS.Store(TS.Multiply(TS.Add(b0, b1), s), ref Unsafe.Add(ref rb, j));
        }
        for (; j < T; j++)
        {
            float a = 0, b = 0;
            for (int c = 0; c < hd; c++)
            {
                float kv = Unsafe.Add(ref kT, c * T + j);
                a += Unsafe.Add(ref qa, c) * kv;
                b += Unsafe.Add(ref qb, c) * kv;
            }
            Unsafe.Add(ref ra, j) = a * scale;
            Unsafe.Add(ref rb, j) = b * scale;
        }
    }

    /// <summary>oa = Σ_j sa[j]·v_j and ob = Σ_j sb[j]·v_j, four feature vectors per row held in registers per pass.</summary>
    private static void Mix<TS, TVec>(ref float v0, int T, int hd, Span<float> sa, Span<float> sb, ref float oa, ref float ob)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        int n = TS.Count, vecEnd = hd - hd % n, f = 0;
        ref float pa = ref MemoryMarshal.GetReference(sa);
        ref float pb = ref MemoryMarshal.GetReference(sb);
        for (; f <= vecEnd - 4 * n; f += 4 * n)
        {
            TVec a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero, b0 = TS.Zero, b1 = TS.Zero, b2 = TS.Zero, b3 = TS.Zero;
            ref float vj = ref Unsafe.Add(ref v0, f);
            for (int j = 0; j < T; j++)
            {
                var x = TS.Broadcast(Unsafe.Add(ref pa, j));
                var y = TS.Broadcast(Unsafe.Add(ref pb, j));
                var w0 = TS.Load(in vj);
                var w1 = TS.Load(in Unsafe.Add(ref vj, n));
                var w2 = TS.Load(in Unsafe.Add(ref vj, 2 * n));
                var w3 = TS.Load(in Unsafe.Add(ref vj, 3 * n));
                a0 = TS.MultiplyAdd(x, w0, a0);
                b0 = TS.MultiplyAdd(y, w0, b0);
                a1 = TS.MultiplyAdd(x, w1, a1);
                b1 = TS.MultiplyAdd(y, w1, b1);
                a2 = TS.MultiplyAdd(x, w2, a2);
                b2 = TS.MultiplyAdd(y, w2, b2);
                a3 = TS.MultiplyAdd(x, w3, a3);
                b3 = TS.MultiplyAdd(y, w3, b3);
                vj = ref Unsafe.Add(ref vj, hd);
            }
            // ob may alias oa (odd last row, sb = sa): same sums, stored twice.
            TS.Store(a0, ref Unsafe.Add(ref oa, f));
            TS.Store(a1, ref Unsafe.Add(ref oa, f + n));
            TS.Store(a2, ref Unsafe.Add(ref oa, f + 2 * n));
            TS.Store(a3, ref Unsafe.Add(ref oa, f + 3 * n));
            TS.Store(b0, ref Unsafe.Add(ref ob, f));
            TS.Store(b1, ref Unsafe.Add(ref ob, f + n));
            TS.Store(b2, ref Unsafe.Add(ref ob, f + 2 * n));
            TS.Store(b3, ref Unsafe.Add(ref ob, f + 3 * n));
        }
        for (; f < vecEnd; f += n)
        {
            TVec a0 = TS.Zero, b0 = TS.Zero;
            for (int j = 0; j < T; j++)
            {
                var w0 = TS.Load(in Unsafe.Add(ref v0, j * hd + f));
                a0 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref pa, j)), w0, a0);
                b0 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref pb, j)), w0, b0);
            }
            TS.Store(a0, ref Unsafe.Add(ref oa, f));
            TS.Store(b0, ref Unsafe.Add(ref ob, f));
        }
        for (; f < hd; f++)
        {
            float a = 0, b = 0;
            for (int j = 0; j < T; j++)
            {
                float w = Unsafe.Add(ref v0, j * hd + f);
                a += Unsafe.Add(ref pa, j) * w;
                b += Unsafe.Add(ref pb, j) * w;
            }
            Unsafe.Add(ref oa, f) = a;
            Unsafe.Add(ref ob, f) = b;
        }
    }
}
