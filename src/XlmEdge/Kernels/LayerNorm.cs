using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace XlmEdge.Kernels;

/// <summary>Residual add fused with LayerNorm, row by row.</summary>
internal static class LayerNorm
{
    /// <summary>
    /// For each of <paramref name="T"/> rows of width <paramref name="d"/> (x, residual: [T, d]):
    /// x = LN(x + residual) * gamma + beta; an empty <paramref name="residual"/> means none.
    /// Mean and biased variance (1/d) are computed in fp32 in two passes, as torch does, because
    /// eps = 1e-12 leaves no room for a variance lost to cancellation.
    /// </summary>
    public static void AddNormalize(Span<float> x, ReadOnlySpan<float> residual, int T, int d, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps) =>
        AddNormalize(CpuFeatures.Selected, x, residual, T, d, gamma, beta, eps);

    internal static void AddNormalize(SimdPath path, Span<float> x, ReadOnlySpan<float> residual, int T, int d, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps)
    {
        switch (path)
        {
            case SimdPath.Vector512: AddNormalize<Simd512, Vector512<float>>(x, residual, T, d, gamma, beta, eps); break;
            case SimdPath.Vector256: AddNormalize<Simd256, Vector256<float>>(x, residual, T, d, gamma, beta, eps); break;
            case SimdPath.Vector128: AddNormalize<Simd128, Vector128<float>>(x, residual, T, d, gamma, beta, eps); break;
            default:
                Validate(x, residual, T, d, gamma, beta);
                for (int t = 0; t < T; t++)
                    RowScalar(x.Slice(t * d, d), residual.IsEmpty ? residual : residual.Slice(t * d, d), gamma, beta, eps);
                break;
        }
    }

    /// <summary>The same, the rows shared out over <paramref name="pool"/> (see <see cref="AddNormalize{TS, TVec}(WorkerPool, Span{float}, ReadOnlySpan{float}, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, float)"/>), on the width this process runs.</summary>
    public static void AddNormalize(WorkerPool pool, Span<float> x, ReadOnlySpan<float> residual, int T, int d, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps)
    {
        switch (CpuFeatures.Selected)
        {
            case SimdPath.Vector512: AddNormalize<Simd512, Vector512<float>>(pool, x, residual, T, d, gamma, beta, eps); break;
            case SimdPath.Vector256: AddNormalize<Simd256, Vector256<float>>(pool, x, residual, T, d, gamma, beta, eps); break;
            case SimdPath.Vector128: AddNormalize<Simd128, Vector128<float>>(pool, x, residual, T, d, gamma, beta, eps); break;
            default: AddNormalize(SimdPath.Scalar, x, residual, T, d, gamma, beta, eps); break;
        }
    }

    /// <summary><see cref="AddNormalize(Span{float}, ReadOnlySpan{float}, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, float)"/> on width <typeparamref name="TS"/>, chosen once by the caller (the generated forwards).</summary>
    internal static void AddNormalize<TS, TVec>(Span<float> x, ReadOnlySpan<float> residual, int T, int d, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        Validate(x, residual, T, d, gamma, beta);
        for (int t = 0; t < T; t++)
            Row<TS, TVec>(x.Slice(t * d, d), residual.IsEmpty ? residual : residual.Slice(t * d, d), gamma, beta, eps);
    }

    /// <summary>Rows per work item when the rows are shared out over the pool.</summary>
    internal const int RowsPerItem = 16;

    /// <summary>
    /// Below this many rows the calling thread normalizes them alone: at d = 1024 a row costs about 0.3 µs,
    /// so 64 rows are about one pool hand-off.
    /// </summary>
    internal const int ParallelRows = 64;

    /// <summary>
    /// <see cref="AddNormalize{TS, TVec}(Span{float}, ReadOnlySpan{float}, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, float)"/>
    /// with the rows shared out over <paramref name="pool"/> from <see cref="ParallelRows"/> rows on (at T = 512
    /// each of a block's two LayerNorms otherwise ran on one thread while the other waited). Rows are
    /// independent, so the result is the same bit for bit.
    /// </summary>
    internal static void AddNormalize<TS, TVec>(WorkerPool pool, Span<float> x, ReadOnlySpan<float> residual, int T, int d, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        if (T < ParallelRows)
        {
            AddNormalize<TS, TVec>(x, residual, T, d, gamma, beta, eps);
            return;
        }
        Validate(x, residual, T, d, gamma, beta);
        var job = new RowsJob<TS, TVec> { X = x, Residual = residual, Gamma = gamma, Beta = beta, T = T, D = d, Eps = eps };
#if NET9_0_OR_GREATER
        pool.For((T + RowsPerItem - 1) / RowsPerItem, ref job);
#else
        // net8.0 has no ref struct type arguments: the job cannot reach the pool and runs on this thread.
        for (int item = 0, items = (T + RowsPerItem - 1) / RowsPerItem; item < items; item++)
            job.Execute(item, 0);
#endif
    }

    /// <summary>Rows item·<see cref="RowsPerItem"/> .. of one AddNormalize.</summary>
    private ref struct RowsJob<TS, TVec> : IParallelJob where TS : struct, ISimd<TVec> where TVec : struct
    {
        public Span<float> X;
        public ReadOnlySpan<float> Residual, Gamma, Beta;
        public int T, D;
        public float Eps;

        public readonly void Execute(int index, int worker)
        {
            int d = D;
            for (int t = index * RowsPerItem, end = Math.Min(T, t + RowsPerItem); t < end; t++)
                Row<TS, TVec>(X.Slice(t * d, d), Residual.IsEmpty ? Residual : Residual.Slice(t * d, d), Gamma, Beta, Eps);
        }
    }

    /// <summary>The scalar twin.</summary>
    internal static void AddNormalizeScalar(Span<float> x, ReadOnlySpan<float> residual, int T, int d, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps) =>
        AddNormalize(SimdPath.Scalar, x, residual, T, d, gamma, beta, eps);

    private static void Validate(Span<float> x, ReadOnlySpan<float> residual, int T, int d, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(T);
        ArgumentOutOfRangeException.ThrowIfLessThan(d, 1);
        long size = (long)T * d;
        if (x.Length < size)
            throw new ArgumentException($"x holds {x.Length} floats; T*d = {size} needed.", nameof(x));
        if (!residual.IsEmpty && residual.Length < size)
            throw new ArgumentException($"residual holds {residual.Length} floats; T*d = {size} needed.", nameof(residual));
        if (gamma.Length < d || beta.Length < d)
            throw new ArgumentException($"gamma and beta need {d} floats; they hold {gamma.Length} and {beta.Length}.");
    }

    private static void RowScalar(Span<float> x, ReadOnlySpan<float> residual, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps)
    {
        int d = x.Length;
        if (!residual.IsEmpty)
            for (int i = 0; i < d; i++)
                x[i] += residual[i];
        float sum = 0;
        for (int i = 0; i < d; i++)
            sum += x[i];
        float mean = sum / d;
        float squares = 0;
        for (int i = 0; i < d; i++)
            squares += (x[i] - mean) * (x[i] - mean);
        float rstd = 1f / MathF.Sqrt(squares / d + eps);
        for (int i = 0; i < d; i++)
            x[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row<TS, TVec>(Span<float> x, ReadOnlySpan<float> residual, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        int d = x.Length, last = d - TS.Count, i;
        ref float p = ref MemoryMarshal.GetReference(x);
        ref float g = ref MemoryMarshal.GetReference(gamma);
        ref float b = ref MemoryMarshal.GetReference(beta);

        var vsum = TS.Zero;
        float sum = 0;
        if (!residual.IsEmpty)
        {
            ref float r = ref MemoryMarshal.GetReference(residual);
            for (i = 0; i <= last; i += TS.Count)
            {
                var v = TS.Add(TS.Load(in Unsafe.Add(ref p, i)), TS.Load(in Unsafe.Add(ref r, i)));
                TS.Store(v, ref Unsafe.Add(ref p, i));
                vsum = TS.Add(vsum, v);
            }
            for (; i < d; i++)
                sum += Unsafe.Add(ref p, i) += Unsafe.Add(ref r, i);
        }
        else
        {
            for (i = 0; i <= last; i += TS.Count)
                vsum = TS.Add(vsum, TS.Load(in Unsafe.Add(ref p, i)));
            for (; i < d; i++)
                sum += Unsafe.Add(ref p, i);
        }
        float mean = (TS.Sum(vsum) + sum) / d;

        var vmean = TS.Broadcast(mean);
        var vsq = TS.Zero;
        float squares = 0;
        for (i = 0; i <= last; i += TS.Count)
        {
            var c = TS.Subtract(TS.Load(in Unsafe.Add(ref p, i)), vmean);
            vsq = TS.MultiplyAdd(c, c, vsq);
        }
        for (; i < d; i++)
        {
            float c = Unsafe.Add(ref p, i) - mean;
            squares += c * c;
        }
        float rstd = 1f / MathF.Sqrt((TS.Sum(vsq) + squares) / d + eps);

        var vrstd = TS.Broadcast(rstd);
        for (i = 0; i <= last; i += TS.Count)
        {
            var c = TS.Multiply(TS.Subtract(TS.Load(in Unsafe.Add(ref p, i)), vmean), vrstd);
            TS.Store(TS.MultiplyAdd(c, TS.Load(in Unsafe.Add(ref g, i)), TS.Load(in Unsafe.Add(ref b, i))), ref Unsafe.Add(ref p, i));
        }
        for (; i < d; i++)
            Unsafe.Add(ref p, i) = (Unsafe.Add(ref p, i) - mean) * rstd * Unsafe.Add(ref g, i) + Unsafe.Add(ref b, i);
    }
}
