using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace XlmEdge.Kernels;

/// <summary>Softmax and log-sum-exp in fp32, shifted by the maximum so no exp overflows.</summary>
/// <remarks>TensorPrimitives.SoftMax does not subtract the maximum, hence this kernel.</remarks>
internal static class Softmax
{
    /// <summary>x = exp(x - max) / Σ exp(x - max), in place. Empty input is left alone.</summary>
    public static void InPlace(Span<float> x) => InPlace(CpuFeatures.Selected, x);

    /// <summary>log Σ exp(x) = max + log Σ exp(x - max); -∞ for empty input.</summary>
    public static float LogSumExp(ReadOnlySpan<float> x) => LogSumExp(CpuFeatures.Selected, x);

    internal static void InPlace(SimdPath path, Span<float> x)
    {
        switch (path)
        {
            case SimdPath.Vector512: InPlace<Simd512, Vector512<float>>(x); break;
            case SimdPath.Vector256: InPlace<Simd256, Vector256<float>>(x); break;
            case SimdPath.Vector128: InPlace<Simd128, Vector128<float>>(x); break;
            default: InPlaceScalar(x); break;
        }
    }

    internal static float LogSumExp(SimdPath path, ReadOnlySpan<float> x)
    {
        if (x.IsEmpty)
            return float.NegativeInfinity;
        return path switch
        {
            SimdPath.Vector512 => LogSumExp<Simd512, Vector512<float>>(x),
            SimdPath.Vector256 => LogSumExp<Simd256, Vector256<float>>(x),
            SimdPath.Vector128 => LogSumExp<Simd128, Vector128<float>>(x),
            _ => LogSumExpScalar(x),
        };
    }

    internal static void InPlaceScalar(Span<float> x)
    {
        if (x.IsEmpty)
            return;
        float max = float.NegativeInfinity;
        foreach (float v in x)
            max = MathF.Max(max, v);
        float sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = MathF.Exp(x[i] - max);
            sum += x[i];
        }
        float scale = 1f / sum;
        for (int i = 0; i < x.Length; i++)
            x[i] *= scale;
    }

    internal static float LogSumExpScalar(ReadOnlySpan<float> x)
    {
        if (x.IsEmpty)
            return float.NegativeInfinity;
        float max = float.NegativeInfinity;
        foreach (float v in x)
            max = MathF.Max(max, v);
        // One float accumulator over a vocabulary (64,139 terms) drifts: over the 1,786 of tiny-enfr the
        // scores it gave summed to 1 - 1.4e-6, where the vector paths' several accumulators stay within
        // 1e-6. A double costs nothing here (once per mask) and keeps the twin the accurate one.
        double sum = 0;
        foreach (float v in x)
            sum += MathF.Exp(v - max);
        return max + (float)Math.Log(sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void InPlace<TS, TVec>(Span<float> x) where TS : struct, ISimd<TVec> where TVec : struct
    {
        if (x.IsEmpty)
            return;
        float max = Max<TS, TVec>(x);
        ref float p = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        var vmax = TS.Broadcast(max);
        var vsum = TS.Zero;
        for (; i <= n - TS.Count; i += TS.Count)
        {
            var e = TS.Exp(TS.Subtract(TS.Load(in Unsafe.Add(ref p, i)), vmax));
            TS.Store(e, ref Unsafe.Add(ref p, i));
            vsum = TS.Add(vsum, e);
        }
        float sum = TS.Sum(vsum);
        for (; i < n; i++)
        {
            float e = MathF.Exp(Unsafe.Add(ref p, i) - max);
            Unsafe.Add(ref p, i) = e;
            sum += e;
        }
        var scale = TS.Broadcast(1f / sum);
        for (i = 0; i <= n - TS.Count; i += TS.Count)
            TS.Store(TS.Multiply(TS.Load(in Unsafe.Add(ref p, i)), scale), ref Unsafe.Add(ref p, i));
        for (; i < n; i++)
            Unsafe.Add(ref p, i) *= 1f / sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float LogSumExp<TS, TVec>(ReadOnlySpan<float> x) where TS : struct, ISimd<TVec> where TVec : struct
    {
        float max = Max<TS, TVec>(x);
        if (float.IsNegativeInfinity(max))
            return max;
        ref float p = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        var vmax = TS.Broadcast(max);
        var vsum = TS.Zero;
        for (; i <= n - TS.Count; i += TS.Count)
            vsum = TS.Add(vsum, TS.Exp(TS.Subtract(TS.Load(in Unsafe.Add(ref p, i)), vmax)));
        float sum = TS.Sum(vsum);
        for (; i < n; i++)
            sum += MathF.Exp(Unsafe.Add(ref p, i) - max);
        return max + MathF.Log(sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Max<TS, TVec>(ReadOnlySpan<float> x) where TS : struct, ISimd<TVec> where TVec : struct
    {
        ref float p = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        float max = float.NegativeInfinity;
        if (n >= TS.Count)
        {
            var vmax = TS.Load(in p);
            for (i = TS.Count; i <= n - TS.Count; i += TS.Count)
                vmax = TS.Max(vmax, TS.Load(in Unsafe.Add(ref p, i)));
            max = TS.MaxAcross(vmax);
        }
        for (; i < n; i++)
            max = MathF.Max(max, Unsafe.Add(ref p, i));
        return max;
    }
}
