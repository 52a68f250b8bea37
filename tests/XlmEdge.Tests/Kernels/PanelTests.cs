using System.Runtime.Intrinsics;
using XlmEdge.Kernels;

namespace XlmEdge.Tests.Kernels;

public class PanelTests
{
    [Theory]
    [InlineData(32, 5)]
    [InlineData(40, 3)]
    [InlineData(13, 7)]
    [InlineData(96, 1)]
    public void PackAndUnpackAreInverseAndPanelsAreKMajor(int N, int K)
    {
        var w = Enumerable.Range(0, N * K).Select(i => (Half)(i % 2000)).ToArray();
        var packed = new Half[N * K];
        PanelLayout.Pack(w, N, K, packed);
        var back = new Half[N * K];
        PanelLayout.Unpack(packed, N, K, back);
        Assert.Equal(w, back);
        // k step 0 of panel 0 in pair order: rows 0, 16, 1, 17, ...
        if (N >= 32)
            for (int i = 0; i < 16; i++)
            {
                Assert.Equal(w[i * K], packed[2 * i]);
                Assert.Equal(w[(16 + i) * K], packed[2 * i + 1]);
            }
        // fp32 keeps rows in order; the rows after the last full panel are [K][N mod 32]
        var single = w.Select(h => (float)h).ToArray();
        var packedSingle = new float[N * K];
        PanelLayout.Pack(single, N, K, packedSingle);
        int full = N / 32 * 32;
        for (int n = 0; n < N; n++)
            for (int k = 0; k < K; k++)
            {
                long at = n < full ? (long)n / 32 * 32 * K + k * 32 + n % 32 : (long)full * K + (long)k * (N - full) + (n - full);
                Assert.Equal(single[n * K + k], packedSingle[at]);
                // RowAndColumnOf (the load-time error's row and column) inverts IndexOf in both orders.
                foreach (bool pairs in (bool[])[true, false])
                    Assert.Equal((n, k), PanelLayout.RowAndColumnOf(PanelLayout.IndexOf(n, k, N, K, pairs), N, K, pairs));
            }
    }

    public static TheoryData<string, int, int, int> Shapes()
    {
        var shapes = new (int T, int K, int N)[]
        {
            (1, 33, 32), (2, 7, 64), (3, 300, 40), (4, 64, 13), (5, 1, 32), (7, 130, 96), (8, 64, 64), (12, 300, 32),
            // several blocks of tokens, each widening W again, the last one short; several token panels
            (13, 33, 64), (16, 700, 40), (17, 64, 32), (25, 40, 64), (33, 300, 72), (40, 65, 32), (70, 33, 64),
            (140, 40, 64),
            // more K than a panel slice holds (slices of 256 to 4096): partial sums carried across slices
            (3, 4100, 32), (20, 4100, 32),
        };
        var data = new TheoryData<string, int, int, int>();
        foreach (var path in CpuFeatures.AllPaths)
            foreach (var (t, k, n) in shapes)
                data.Add(path.ToString(), t, k, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void HalfPanelsMatchTheRowMajorScalarTwin(string width, int T, int K, int N)
    {
        var path = Enum.Parse<SimdPath>(width);
        var random = new Random(T * 7919 + K * 31 + N);
        var x = KernelData.Floats(random, T * K, 2f);
        var w = KernelData.Halves(random, N * K, 0.5f);
        var wide = w.Select(h => (float)h).ToArray();
        var packed = new Half[N * K];
        PanelLayout.Pack(w, N, K, packed);
        var bias = KernelData.Floats(random, N);
        foreach (var (activation, threads) in new[] { (Activation.None, 1), (Activation.Gelu, 2), (Activation.None, 3) })
        {
            using var pool = new WorkerPool(threads);
            var expected = new float[T * N];
            Linear.ForwardScalar(x, T, K, w, N, bias, expected);
            var reference = activation == Activation.Gelu ? expected.Select(Activations.GeluScalar).ToArray() : expected;
            var twin = new float[T * N];
            Linear.PanelsScalar<Half>(x, T, K, packed, N, bias, twin, activation);
            Assert.Equal(reference, twin);
            var actual = new float[T * N];
            Run(path, pool, x, T, K, packed, N, bias, actual, activation);
            AssertClose(twin, actual, x, wide, bias, T, K, N, activation);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SinglePanelsMatchTheScalarTwin(string width, int T, int K, int N)
    {
        var path = Enum.Parse<SimdPath>(width);
        var random = new Random(T * 7919 + K * 31 + N + 1);
        var x = KernelData.Floats(random, T * K, 2f);
        var w = KernelData.Floats(random, N * K, 0.5f);
        var packed = new float[N * K];
        PanelLayout.Pack(w, N, K, packed);
        var bias = KernelData.Floats(random, N);
        using var pool = new WorkerPool(2);
        var expected = new float[T * N];
        Linear.PanelsScalar<float>(x, T, K, packed, N, bias, expected, Activation.None);
        var actual = new float[T * N];
        Run(path, pool, x, T, K, packed, N, bias, actual, Activation.None);
        AssertClose(expected, actual, x, w, bias, T, K, N, Activation.None);
    }

    /// <summary><see cref="Shapes"/> on the vector paths (the scalar path runs q, k and v as three single twins).</summary>
    public static TheoryData<string, int, int, int> VectorShapes()
    {
        var data = new TheoryData<string, int, int, int>();
        foreach (var row in Shapes())
            if ((string)row[0] != nameof(SimdPath.Scalar))
                data.Add((string)row[0], (int)row[1], (int)row[2], (int)row[3]);
        return data;
    }

    [Theory]
    [MemberData(nameof(VectorShapes))]
    public void ThreeProjectionsInOneCallEqualThreeSingleCalls(string width, int T, int K, int N)
    {
        var path = Enum.Parse<SimdPath>(width);
        var random = new Random(T * 7919 + K * 31 + N + 2);
        var x = KernelData.Floats(random, T * K, 2f);
        if (T > 2)
            x[K + 1] = 2 * Linear.UnscaledLimit; // one call's choice of the scaled widening holds for all three
        var w = new Half[3][];
        var bias = new float[3][];
        for (int m = 0; m < 3; m++)
        {
            w[m] = new Half[N * K];
            PanelLayout.Pack(KernelData.Halves(random, N * K, 0.5f), N, K, w[m]);
            bias[m] = KernelData.Floats(random, N);
        }
        using var pool = new WorkerPool(2);
        var single = new float[3][];
        for (int m = 0; m < 3; m++)
        {
            single[m] = new float[T * N];
            Run(path, pool, x, T, K, w[m], N, bias[m], single[m], Activation.None);
        }
        var three = new[] { new float[T * N], new float[T * N], new float[T * N] };
        var a = new Projection<Half>(w[0], bias[0], three[0]);
        var b = new Projection<Half>(w[1], bias[1], three[1]);
        var c = new Projection<Half>(w[2], bias[2], three[2]);
        switch (path)
        {
            case SimdPath.Vector512: Linear.Panels<Simd512, Vector512<float>, Half>(pool, x, T, K, N, a, b, c); break;
            case SimdPath.Vector256: Linear.Panels<Simd256, Vector256<float>, Half>(pool, x, T, K, N, a, b, c); break;
            default: Linear.Panels<Simd128, Vector128<float>, Half>(pool, x, T, K, N, a, b, c); break;
        }
        for (int m = 0; m < 3; m++)
            Assert.Equal(single[m], three[m]);
    }

    /// <summary>
    /// An input past <see cref="Linear.UnscaledLimit"/> switches to the scaled widening (x as it is, W times 2^112
    /// in registers), still the twin's sums. W is finite, as the loader guarantees for panel matrices
    /// (<c>NonFiniteTests</c> shows a file with an infinity or NaN in one is refused).
    /// </summary>
    [Fact]
    public void HugeInputsKeepTheScaledWidening()
    {
        const int T = 14, K = 300, N = 64;
        var random = new Random(11);
        var x = KernelData.Floats(random, T * K, 2f);
        x[5 * K + 7] = -3 * Linear.UnscaledLimit;
        for (int t = 0; t < T; t++)
            x[t * K + 17] = 1f + t;
        var w = KernelData.Halves(random, N * K, 0.5f);
        w[2 * K + 100] = Half.MaxValue;
        w[21 * K + 17] = Half.Epsilon;
        var packed = new Half[N * K];
        PanelLayout.Pack(w, N, K, packed);
        foreach (var path in CpuFeatures.AllPaths)
            foreach (int tokens in new[] { 3, T })
            {
                using var pool = new WorkerPool(2);
                var expected = new float[tokens * N];
                var actual = new float[tokens * N];
                Linear.PanelsScalar<Half>(x, tokens, K, packed, N, [], expected, Activation.None);
                Run(path, pool, x, tokens, K, packed, N, [], actual, Activation.None);
                Assert.All(expected, value => Assert.True(float.IsFinite(value)));
                for (int i = 0; i < tokens * N; i++)
                    Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-3 * Math.Max(1, Math.Abs(expected[i])), $"{path}: y[{i}] = {actual[i]}, twin {expected[i]}");
            }
    }

    internal static void Run<TW>(SimdPath path, WorkerPool pool, float[] x, int T, int K, TW[] w, int N, float[] bias, float[] y, Activation activation)
        where TW : unmanaged
    {
        switch (path)
        {
            case SimdPath.Vector512: Linear.Panels<Simd512, Vector512<float>, TW>(pool, x, T, K, w, N, bias, y, activation); break;
            case SimdPath.Vector256: Linear.Panels<Simd256, Vector256<float>, TW>(pool, x, T, K, w, N, bias, y, activation); break;
            case SimdPath.Vector128: Linear.Panels<Simd128, Vector128<float>, TW>(pool, x, T, K, w, N, bias, y, activation); break;
            default: Linear.PanelsScalar<TW>(x, T, K, w, N, bias, y, activation); break;
        }
    }

    /// <summary>The bound of LinearTests.AssertClose (two orders of the same fp32 sums, the bias one more term).</summary>
    private static void AssertClose(float[] expected, float[] actual, float[] x, float[] w, float[] bias, int T, int K, int N, Activation activation)
    {
        double gamma = (K + 1) * KernelData.U / (1 - (K + 1) * KernelData.U);
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++)
            {
                double magnitude = Math.Abs(bias[n]);
                for (int k = 0; k < K; k++)
                    magnitude += Math.Abs((double)x[t * K + k] * w[n * K + k]);
                double bound = 2 * gamma * magnitude;
                if (activation == Activation.Gelu)
                    bound = 1.13 * bound + 2e-6;
                double error = Math.Abs(expected[t * N + n] - actual[t * N + n]);
                Assert.True(error <= bound, $"y[{t},{n}] = {actual[t * N + n]}, scalar twin {expected[t * N + n]} (bound {bound})");
            }
    }
}
