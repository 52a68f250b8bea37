using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using XlmEdge.Kernels;

namespace XlmEdge.Benchmarks;

/// <summary>One width's measured fused multiply-add peak: GFLOP/s on one core and on every thread of the run.</summary>
internal sealed record FmaRate(SimdPath Path, double OneCoreGflops, double AllThreadsGflops, int Threads);

/// <summary>
/// This machine's fused multiply-add peak per vector width, measured in the run rather than taken from a
/// BLAS (which may not know the CPU) or a data sheet: every thread runs 12 independent FMA chains on
/// registers only, more than the 8 in flight (4-cycle latency x 2 FMA ports) that any x64 or ARM64 core we
/// know of needs to keep its FMA units busy, and few enough to leave registers for the operands with 16
/// of them. The compute floor of the benchmark is FLOPs over the all-threads figure of the width XlmEdge runs.
/// </summary>
internal static class FmaPeak
{
    private const int Chains = 12;
    private const int Iterations = 1 << 23;

    /// <summary>Each width this machine has FMA instructions for, narrowest first, on one thread and on <paramref name="threads"/> threads.</summary>
    public static IReadOnlyList<FmaRate> Measure(int threads) =>
        CpuFeatures.AllPaths.Where(IsMeasurable).Select(p => new FmaRate(p, Gflops(p, 1), Gflops(p, threads), threads)).ToList();

    /// <summary>Whether this machine has FMA instructions at this width (a software-emulated width has no peak to measure).</summary>
    public static bool IsMeasurable(SimdPath path) => path switch
    {
        SimdPath.Vector512 => Avx512F.IsSupported,
        SimdPath.Vector256 => Fma.IsSupported && Avx.IsSupported,
        SimdPath.Vector128 => Fma.IsSupported || AdvSimd.IsSupported,
        _ => false,
    };

    /// <summary>Best of five rounds; each thread runs the same chains, all started together.</summary>
    public static double Gflops(SimdPath path, int threads)
    {
        Func<int, float> loop = path switch
        {
            SimdPath.Vector512 => Run<Width512, Vector512<float>>,
            SimdPath.Vector256 => Run<Width256, Vector256<float>>,
            SimdPath.Vector128 => Run<Width128, Vector128<float>>,
            _ => throw new ArgumentOutOfRangeException(nameof(path)),
        };
        int lanes = path switch { SimdPath.Vector512 => 16, SimdPath.Vector256 => 8, _ => 4 };
        for (int i = 0; i < 3; i++)
            loop(1 << 16); // through tiered JIT to the final code before timing
        Thread.Sleep(50);
        loop(1 << 16);
        double best = double.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            best = Math.Min(best, ThreadTimer.Seconds(threads, _ => loop(Iterations)));
        }
        return threads * 2.0 * Chains * lanes * Iterations / best / 1e9;
    }

    private interface IWidth<TVec>
    {
        static abstract TVec Create(float value);
        static abstract TVec MultiplyAdd(TVec a, TVec b, TVec c);
        static abstract float Sum(TVec value);
    }

    private readonly struct Width128 : IWidth<Vector128<float>>
    {
        public static Vector128<float> Create(float value) => Vector128.Create(value);
        public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);
        public static float Sum(Vector128<float> value) => Vector128.Sum(value);
    }

    private readonly struct Width256 : IWidth<Vector256<float>>
    {
        public static Vector256<float> Create(float value) => Vector256.Create(value);
        public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
        public static float Sum(Vector256<float> value) => Vector256.Sum(value);
    }

    private readonly struct Width512 : IWidth<Vector512<float>>
    {
        public static Vector512<float> Create(float value) => Vector512.Create(value);
        public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
        public static float Sum(Vector512<float> value) => Vector512.Sum(value);
    }

    /// <summary>
    /// c = c * a + b with a just below 1 on each chain: the values converge instead of overflowing, and each
    /// chain depends only on itself, so the FMA units, not their latency, bound the loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Run<TW, TVec>(int iterations) where TW : struct, IWidth<TVec> where TVec : struct
    {
        var a = TW.Create(0.999999f);
        var b = TW.Create(1e-6f);
        TVec c0 = TW.Create(0.5f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < iterations; i++)
        {
            c0 = TW.MultiplyAdd(c0, a, b); c1 = TW.MultiplyAdd(c1, a, b); c2 = TW.MultiplyAdd(c2, a, b);
            c3 = TW.MultiplyAdd(c3, a, b); c4 = TW.MultiplyAdd(c4, a, b); c5 = TW.MultiplyAdd(c5, a, b);
            c6 = TW.MultiplyAdd(c6, a, b); c7 = TW.MultiplyAdd(c7, a, b); c8 = TW.MultiplyAdd(c8, a, b);
            c9 = TW.MultiplyAdd(c9, a, b); c10 = TW.MultiplyAdd(c10, a, b); c11 = TW.MultiplyAdd(c11, a, b);
        }
        return TW.Sum(c0) + TW.Sum(c1) + TW.Sum(c2) + TW.Sum(c3) + TW.Sum(c4) + TW.Sum(c5)
            + TW.Sum(c6) + TW.Sum(c7) + TW.Sum(c8) + TW.Sum(c9) + TW.Sum(c10) + TW.Sum(c11);
    }
}
