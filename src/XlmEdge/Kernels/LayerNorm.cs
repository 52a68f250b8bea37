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
        Validate(x, residual, T, d, gamma, beta);
        for (int t = 0; t < T; t++)
        {
            var row = x.Slice(t * d, d);
            var res = residual.IsEmpty ? residual : residual.Slice(t * d, d);
            switch (path)
            {
                case SimdPath.Vector512: Row<Simd512, Vector512<float>>(row, res, gamma, beta, eps); break;
                case SimdPath.Vector256: Row<Simd256, Vector256<float>>(row, res, gamma, beta, eps); break;
                case SimdPath.Vector128: Row<Simd128, Vector128<float>>(row, res, gamma, beta, eps); break;
                default: RowScalar(row, res, gamma, beta, eps); break;
            }
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
