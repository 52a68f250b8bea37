using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace XlmEdge.Kernels;

/// <summary>The instructions an int8 (q8) kernel runs with; every path has the same results, bit for bit.</summary>
internal enum Int8Path
{
    /// <summary>Plain scalar loops: the twin every other path is tested against.</summary>
    Scalar,
    /// <summary>128 bits: SSSE3 <c>pmaddubsw</c> + <c>pmaddwd</c> on x64, <c>smull</c> + <c>sadalp</c> on ARM64 without the dot product.</summary>
    Vector128,
    /// <summary>ARM64 <c>sdot</c> (FEAT_DotProd, .NET's <see cref="AdvSimd"/>.Dp): 16 int8 products per instruction.</summary>
    ArmDot,
    /// <summary>x64 AVX2 <c>vpmaddubsw</c> + <c>vpmaddwd</c> on 256 bits.</summary>
    Avx2,
    /// <summary>x64 AVX-VNNI <c>vpdpbusd</c> on 256 bits (.NET's <see cref="AvxVnni"/>).</summary>
    AvxVnni,
    /// <summary>x64 AVX-512BW <c>vpmaddubsw</c> + <c>vpmaddwd</c> on 512 bits.</summary>
    Avx512BW,
}

/// <summary>
/// Which int8 path this CPU runs, decided once from what the JIT (or the Native AOT instruction-set
/// baseline) reports, and from the float width <see cref="CpuFeatures.Selected"/> (so <c>XLMEDGE_SIMD</c>
/// narrows the int8 kernels too: <c>vector256</c> picks AVX-VNNI or AVX2, <c>vector128</c> the 128-bit paths).
/// </summary>
/// <remarks>
/// .NET 10 exposes 256-bit <c>vpdpbusd</c> (<c>AvxVnni</c>) but no 512-bit VNNI: <c>Avx512Vnni</c> does
/// not exist, <c>Avx10v1</c> has no dot-product instructions, and <c>AvxVnniInt8</c> (signed x
/// signed <c>vpdpbssd</c>, Arrow Lake and AVX10.2 CPUs) is not reported by this project's AMD EPYC (Zen 5).
/// Where AVX-512BW and AVX-VNNI both exist, AVX-VNNI runs: see <see cref="Preferred"/>.
/// </remarks>
internal static class Int8Paths
{
    /// <summary>Every path, narrowest first.</summary>
    public static IReadOnlyList<Int8Path> All { get; } =
        [Int8Path.Scalar, Int8Path.Vector128, Int8Path.ArmDot, Int8Path.Avx2, Int8Path.AvxVnni, Int8Path.Avx512BW];

    /// <summary>The paths this machine can run (tests run each kernel on all of them).</summary>
    public static IReadOnlyList<Int8Path> Supported { get; } = All.Where(IsSupported).ToArray();

    /// <summary>The path the q8 kernels use: the fastest one the selected float width allows.</summary>
    public static Int8Path Selected { get; } = Preferred(CpuFeatures.Selected);

    /// <summary>Whether this machine has the instructions of <paramref name="path"/>.</summary>
    public static bool IsSupported(Int8Path path) => path switch
    {
        Int8Path.Scalar => true,
        Int8Path.Vector128 => Vector128.IsHardwareAccelerated && (Ssse3.IsSupported || AdvSimd.Arm64.IsSupported),
        Int8Path.ArmDot => AdvSimd.Arm64.IsSupported && Dp.IsSupported,
        Int8Path.Avx2 => Vector256.IsHardwareAccelerated && Avx2.IsSupported,
#if NET9_0_OR_GREATER
        Int8Path.AvxVnni => Vector256.IsHardwareAccelerated && Avx2.IsSupported && AvxVnni.IsSupported,
#endif
        Int8Path.Avx512BW => Vector512.IsHardwareAccelerated && Avx512BW.IsSupported,
        _ => false,
    };

    /// <summary>
    /// The fastest supported path no wider than <paramref name="width"/>. AVX-VNNI before AVX-512BW: one
    /// <c>vpdpbusd</c> does 32 multiply-adds where AVX-512BW needs a sign fix-up, <c>vpmaddubsw</c>,
    /// <c>vpmaddwd</c> and an add for 64; the q8 Linears at the enfr-1024 shapes ran 53 against 42 GMAC/s at
    /// T = 16 and 70 against 55 at T = 128 (benchmark mode int8-kernels, 2 threads, interleaved, AMD EPYC
    /// Zen 5, load 6.7).
    /// </summary>
    public static Int8Path Preferred(SimdPath width)
    {
        Int8Path[] order = width switch
        {
            SimdPath.Vector512 => [Int8Path.AvxVnni, Int8Path.Avx512BW, Int8Path.Avx2, Int8Path.ArmDot, Int8Path.Vector128],
            SimdPath.Vector256 => [Int8Path.AvxVnni, Int8Path.Avx2, Int8Path.ArmDot, Int8Path.Vector128],
            SimdPath.Vector128 => [Int8Path.ArmDot, Int8Path.Vector128],
            _ => [],
        };
        foreach (var path in order)
            if (IsSupported(path))
                return path;
        return Int8Path.Scalar;
    }

    /// <summary>Human name of a path: "avx-vnni", "avx2", "avx512bw", "arm-dotprod", "ssse3", "advsimd" or "scalar".</summary>
    public static string Name(Int8Path path) => path switch
    {
        Int8Path.AvxVnni => "avx-vnni",
        Int8Path.Avx2 => "avx2",
        Int8Path.Avx512BW => "avx512bw",
        Int8Path.ArmDot => "arm-dotprod",
        Int8Path.Vector128 => AdvSimd.Arm64.IsSupported ? "advsimd" : "ssse3",
        _ => "scalar",
    };

    /// <summary>The float width of a path's epilogue (GELU): the same vectors as its integer work.</summary>
    internal static SimdPath FloatWidth(Int8Path path) => path switch
    {
        Int8Path.Avx512BW => SimdPath.Vector512,
        Int8Path.Avx2 or Int8Path.AvxVnni => SimdPath.Vector256,
        Int8Path.Vector128 or Int8Path.ArmDot => SimdPath.Vector128,
        _ => SimdPath.Scalar,
    };
}
