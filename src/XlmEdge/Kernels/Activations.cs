using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace XlmEdge.Kernels;

/// <summary>The activation a <see cref="Linear"/> call can fuse onto its output.</summary>
internal enum Activation
{
    None,
    /// <summary>Exact (erf) GELU, as the XLM checkpoints use (gelu_activation = true).</summary>
    Gelu,
}

/// <summary>Element-wise activations.</summary>
/// <remarks>
/// GELU(x) = x Φ(x) with Q = 1 - Φ(|x|) = erfc(|x|/√2)/2 computed as t·exp(-z² + P(t))/2,
/// t = 1/(1 + z/2), z = |x|/√2: the Chebyshev-fitted erfc of Numerical Recipes (erfcc), whose relative
/// error is below 1.2e-7 for all z ≥ 0. Then GELU(x) = x - xQ for x ≥ 0 and xQ for x &lt; 0, so the
/// error is relative to Q and never amplified by 1 - Q cancellation; the tests bound the result within
/// 1e-6 absolute of the exact GELU on [-10, 10].
/// </remarks>
internal static class Activations
{
    private const float InvSqrt2 = 0.70710678118654752f;

    /// <summary>x = GELU(x) in place (exact erf form, see remarks).</summary>
    public static void Gelu(Span<float> x) => Gelu(CpuFeatures.Selected, x);

    internal static void Gelu(SimdPath path, Span<float> x)
    {
        switch (path)
        {
            case SimdPath.Vector512: Gelu<Simd512, Vector512<float>>(x); break;
            case SimdPath.Vector256: Gelu<Simd256, Vector256<float>>(x); break;
            case SimdPath.Vector128: Gelu<Simd128, Vector128<float>>(x); break;
            default: GeluScalar(x); break;
        }
    }

    /// <summary>The scalar twin (same approximation, scalar arithmetic).</summary>
    internal static void GeluScalar(Span<float> x)
    {
        for (int i = 0; i < x.Length; i++)
            x[i] = GeluScalar(x[i]);
    }

    internal static float GeluScalar(float x)
    {
        float z = MathF.Abs(x) * InvSqrt2;
        float t = 1f / (1f + 0.5f * z);
        float p = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f
            + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
        float q = 0.5f * t * MathF.Exp(p - z * z);
        return x < 0 ? x * q : x - x * q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Gelu<TS, TVec>(Span<float> x) where TS : struct, ISimd<TVec> where TVec : struct
    {
        ref float p = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        // Two independent vectors per iteration: one GELU is a ~80-cycle dependency chain.
        for (; i <= n - 2 * TS.Count; i += 2 * TS.Count)
        {
            var a = Gelu<TS, TVec>(TS.Load(in Unsafe.Add(ref p, i)));
            var b = Gelu<TS, TVec>(TS.Load(in Unsafe.Add(ref p, i + TS.Count)));
            TS.Store(a, ref Unsafe.Add(ref p, i));
            TS.Store(b, ref Unsafe.Add(ref p, i + TS.Count));
        }
        for (; i <= n - TS.Count; i += TS.Count)
            TS.Store(Gelu<TS, TVec>(TS.Load(in Unsafe.Add(ref p, i))), ref Unsafe.Add(ref p, i));
        for (; i < n; i++)
            Unsafe.Add(ref p, i) = GeluScalar(Unsafe.Add(ref p, i));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVec Gelu<TS, TVec>(TVec x) where TS : struct, ISimd<TVec> where TVec : struct
    {
        var z = TS.Multiply(TS.Abs(x), TS.Broadcast(InvSqrt2));
        var t = TS.Divide(TS.Broadcast(1f), TS.MultiplyAdd(z, TS.Broadcast(0.5f), TS.Broadcast(1f)));
        var p = TS.Broadcast(0.17087277f);
        p = TS.MultiplyAdd(p, t, TS.Broadcast(-0.82215223f));
        p = TS.MultiplyAdd(p, t, TS.Broadcast(1.48851587f));
        p = TS.MultiplyAdd(p, t, TS.Broadcast(-1.13520398f));
        p = TS.MultiplyAdd(p, t, TS.Broadcast(0.27886807f));
        p = TS.MultiplyAdd(p, t, TS.Broadcast(-0.18628806f));
        p = TS.MultiplyAdd(p, t, TS.Broadcast(0.09678418f));
        p = TS.MultiplyAdd(p, t, TS.Broadcast(0.37409196f));
        p = TS.MultiplyAdd(p, t, TS.Broadcast(1.00002368f));
        p = TS.MultiplyAdd(p, t, TS.Broadcast(-1.26551223f));
        var q = TS.Multiply(TS.Multiply(TS.Broadcast(0.5f), t), TS.Exp(TS.Subtract(p, TS.Multiply(z, z))));
        var xq = TS.Multiply(x, q);
        return TS.SelectNegative(x, xq, TS.Subtract(x, xq));
    }
}
