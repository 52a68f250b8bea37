using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace XlmEdge.Kernels;

/// <summary>fp16 -> fp32 for whole spans (embedding rows, 1-D tensors stored as F16).</summary>
internal static class HalfConversion
{
    /// <summary>dst[i] = (float)src[i]; dst must be at least as long as src.</summary>
    public static void ToSingle(ReadOnlySpan<Half> src, Span<float> dst) => ToSingle(CpuFeatures.Selected, src, dst);

    internal static void ToSingle(SimdPath path, ReadOnlySpan<Half> src, Span<float> dst)
    {
        if (dst.Length < src.Length)
            throw new ArgumentException($"Destination holds {dst.Length} floats; {src.Length} needed.", nameof(dst));
        switch (path)
        {
            case SimdPath.Vector512: ToSingle<Simd512, Vector512<float>>(src, dst); break;
            case SimdPath.Vector256: ToSingle<Simd256, Vector256<float>>(src, dst); break;
            case SimdPath.Vector128: ToSingle<Simd128, Vector128<float>>(src, dst); break;
            default: ToSingleScalar(src, dst); break;
        }
    }

    /// <summary>The scalar twin: the framework's own Half -> float conversion.</summary>
    internal static void ToSingleScalar(ReadOnlySpan<Half> src, Span<float> dst)
    {
        for (int i = 0; i < src.Length; i++)
            dst[i] = (float)src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ToSingle<TS, TVec>(ReadOnlySpan<Half> src, Span<float> dst)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        ref Half s = ref MemoryMarshal.GetReference(src);
        ref float d = ref MemoryMarshal.GetReference(dst);
        int n = src.Length, i = 0;
        for (; i <= n - TS.Count; i += TS.Count)
            TS.Store(TS.LoadHalf(in Unsafe.Add(ref s, i)), ref Unsafe.Add(ref d, i));
        for (; i < n; i++)
            Unsafe.Add(ref d, i) = HalfBits.ToSingle(Unsafe.Add(ref s, i));
    }
}
