using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace XlmEdge.Kernels;

/// <summary>The vector width a kernel runs with. Every kernel has one implementation per width.</summary>
internal enum SimdPath
{
    /// <summary>Plain scalar loops: the reference twins the vector kernels are tested against.</summary>
    Scalar,
    /// <summary>128-bit vectors (ARM64 AdvSimd; SSE on x64, used there only to test this width).</summary>
    Vector128,
    /// <summary>256-bit vectors with fused multiply-add (x64 AVX2+FMA).</summary>
    Vector256,
    /// <summary>512-bit vectors (x64 AVX-512).</summary>
    Vector512,
}

/// <summary>
/// Which kernel width this CPU runs, decided once at start-up from what the JIT (or the Native AOT
/// instruction-set baseline) reports as hardware accelerated, never assumed.
/// </summary>
/// <remarks>
/// Every width is functionally runnable everywhere (the Vector128/256/512 types fall back to
/// software when not accelerated), which is how tests exercise all widths on one machine.
/// Set the environment variable <c>XLMEDGE_SIMD</c> to <c>scalar</c>, <c>vector128</c>,
/// <c>vector256</c> or <c>vector512</c> to force a width for the whole process (benchmarks, bug hunts).
/// </remarks>
internal static class CpuFeatures
{
    /// <summary>Every width, narrowest first; tests run each kernel on all of them.</summary>
    public static IReadOnlyList<SimdPath> AllPaths { get; } = [SimdPath.Scalar, SimdPath.Vector128, SimdPath.Vector256, SimdPath.Vector512];

    /// <summary>The width the kernels use when the caller does not name one.</summary>
    public static SimdPath Selected { get; } = Select(Environment.GetEnvironmentVariable("XLMEDGE_SIMD"));

    /// <summary>The widest accelerated width (ignores <c>XLMEDGE_SIMD</c>).</summary>
    public static SimdPath Best { get; } = Detect();

    /// <summary>Human name of what the dispatcher picked: "avx512", "avx2+fma", "advsimd", "sse4.1" or "scalar".</summary>
    public static string Name(SimdPath path) => path switch
    {
        SimdPath.Vector512 => IsAccelerated(path) ? "avx512" : "vector512 (software)",
        SimdPath.Vector256 => IsAccelerated(path) ? "avx2+fma" : "vector256 (software)",
        SimdPath.Vector128 => AdvSimd.IsSupported ? "advsimd" : IsAccelerated(path) ? "sse4.1" : "vector128 (software)",
        _ => "scalar",
    };

    /// <summary>Whether the width runs on real vector hardware (with fused multiply-add) here.</summary>
    public static bool IsAccelerated(SimdPath path) => path switch
    {
        SimdPath.Vector512 => Vector512.IsHardwareAccelerated && Avx512F.IsSupported,
        SimdPath.Vector256 => Vector256.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported,
        SimdPath.Vector128 => Vector128.IsHardwareAccelerated && (AdvSimd.IsSupported || (Sse41.IsSupported && Fma.IsSupported)),
        _ => true,
    };

    private static SimdPath Detect()
    {
        foreach (var path in new[] { SimdPath.Vector512, SimdPath.Vector256, SimdPath.Vector128 })
            if (IsAccelerated(path))
                return path;
        return SimdPath.Scalar;
    }

    private static SimdPath Select(string? forced) => forced?.Trim().ToLowerInvariant() switch
    {
        "scalar" => SimdPath.Scalar,
        "vector128" => SimdPath.Vector128,
        "vector256" => SimdPath.Vector256,
        "vector512" => SimdPath.Vector512,
        _ => Detect(),
    };
}
