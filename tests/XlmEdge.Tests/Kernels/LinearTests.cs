using XlmEdge.Kernels;

namespace XlmEdge.Tests.Kernels;

public class LinearTests
{
    public static TheoryData<string, int, int, int> Shapes()
    {
        var shapes = new (int T, int K, int N)[]
        {
            (1, 1, 1), (1, 7, 5), (2, 33, 13), (3, 1024, 9), (4, 33, 7), (5, 7, 31), (17, 33, 13),
            (17, 1, 6), (16, 1024, 50), (33, 300, 19), (40, 513, 37), (8, 64, 64),
            // one token panel (the single-panel kernel) over several K slices whose last one ends in a
            // partial chunk, or is shorter than a chunk
            (6, 700, 13), (12, 520, 11), (10, 4100, 7),
            // ... with several row groups per item, an odd
            // number of slices and a short last group
            (12, 700, 33), (16, 520, 45), (5, 300, 40),
            // items of 8 rows or more and 8 tokens or more: the output tile is transposed in 8 x 8 blocks
            (16, 64, 200), (19, 40, 150), (43, 72, 101),
        };
        return OnEveryPath(shapes);
    }

    /// <summary>Each (T, K, N) on every SIMD path this machine runs.</summary>
    private static TheoryData<string, int, int, int> OnEveryPath((int T, int K, int N)[] shapes)
    {
        var data = new TheoryData<string, int, int, int>();
        foreach (var path in CpuFeatures.AllPaths)
            foreach (var (t, k, n) in shapes)
                data.Add(path.ToString(), t, k, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void HalfWeightsMatchScalarTwin(string width, int T, int K, int N)
    {
        var path = Enum.Parse<SimdPath>(width);
        var random = new Random(T * 7919 + K * 31 + N);
        var x = KernelData.Floats(random, T * K, 2f);
        var w = KernelData.Halves(random, N * K, 0.5f);
        var bias = KernelData.Floats(random, N);
        var wide = w.Select(h => (float)h).ToArray();
        foreach (var activation in new[] { Activation.None, Activation.Gelu })
            foreach (int threads in new[] { 1, 2, 3 })
            {
                using var pool = new WorkerPool(threads);
                var expected = new float[T * N];
                var actual = new float[T * N];
                Linear.ForwardScalar(x, T, K, w, N, bias, expected, activation);
                Linear.Forward(path, pool, x, T, K, w, N, bias, actual, activation);
                AssertClose(expected, actual, x, wide, bias, T, K, N, activation);
            }
    }

    [Theory]
    [InlineData(1, 33, 13)]
    [InlineData(2, 1024, 9)]
    [InlineData(17, 300, 19)]
    [InlineData(12, 700, 13)]
    public void HalfWeightsWithHugeInputsMatchScalarTwin(int T, int K, int N)
    {
        // max |x| at or above Linear.UnscaledLimit: x·2^112 would overflow, so the kernels must keep the scaled widening.
        var random = new Random(T * 7919 + K * 31 + N + 2);
        var x = KernelData.Floats(random, T * K, 4 * Linear.UnscaledLimit);
        x[^1] = -Linear.UnscaledLimit;
        var w = KernelData.Halves(random, N * K, 0.5f);
        var bias = KernelData.Floats(random, N);
        var wide = w.Select(h => (float)h).ToArray();
        foreach (var path in CpuFeatures.AllPaths)
        {
            using var pool = new WorkerPool(2);
            var expected = new float[T * N];
            var actual = new float[T * N];
            Linear.ForwardScalar(x, T, K, w, N, bias, expected);
            Linear.Forward(path, pool, x, T, K, w, N, bias, actual);
            Assert.All(actual, value => Assert.True(float.IsFinite(value), $"{path}: {value}"));
            AssertClose(expected, actual, x, wide, bias, T, K, N, Activation.None);
        }
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(3, 17)]
    [InlineData(7, 299)]
    [InlineData(8, 100)]
    [InlineData(12, 290)]
    public void OneHugeInputAnywhereKeepsTheScaledWidening(int token, int k)
    {
        // Packing finds max |x| 8 tokens at a time (vector path) or one token at a time: either must see it.
        const int T = 16, K = 300, N = 9;
        var random = new Random(token * 1000 + k);
        var x = KernelData.Floats(random, T * K, 2f);
        x[token * K + k] = -3 * Linear.UnscaledLimit;
        var w = KernelData.Halves(random, N * K, 0.5f);
        var wide = w.Select(h => (float)h).ToArray();
        foreach (var path in CpuFeatures.AllPaths)
        {
            using var pool = new WorkerPool(2);
            var expected = new float[T * N];
            var actual = new float[T * N];
            Linear.ForwardScalar(x, T, K, w, N, [], expected);
            Linear.Forward(path, pool, x, T, K, w, N, [], actual);
            Assert.All(actual, value => Assert.True(float.IsFinite(value), $"{path}: {value}"));
            AssertClose(expected, actual, x, wide, [], T, K, N, Activation.None);
        }
    }

    [Fact]
    public void NaNInOneTokenSpoilsOnlyThatTokensOutputs()
    {
        const int T = 16, K = 300, N = 9, Spoilt = 3;
        var random = new Random(99);
        var x = KernelData.Floats(random, T * K, 2f);
        x[Spoilt * K + 40] = float.NaN;
        var w = KernelData.Halves(random, N * K, 0.5f);
        var wide = w.Select(h => (float)h).ToArray();
        var clean = x.Where((_, i) => i / K != Spoilt).ToArray();
        foreach (var path in CpuFeatures.AllPaths)
        {
            using var pool = new WorkerPool(2);
            var expected = new float[T * N];
            var actual = new float[T * N];
            Linear.ForwardScalar(x, T, K, w, N, [], expected);
            Linear.Forward(path, pool, x, T, K, w, N, [], actual);
            Assert.All(actual.Skip(Spoilt * N).Take(N), value => Assert.True(float.IsNaN(value), $"{path}: {value}"));
            var others = actual.Where((_, i) => i / N != Spoilt).ToArray();
            var othersExpected = expected.Where((_, i) => i / N != Spoilt).ToArray();
            AssertClose(othersExpected, others, clean, wide, [], T - 1, K, N, Activation.None);
        }
    }

    public static TheoryData<string, int, int, int> NonFiniteShapes() =>
        OnEveryPath([(1, 300, 13), (2, 300, 13), (3, 300, 13), (8, 300, 13), (16, 700, 13), (40, 300, 13)]);

    [Theory]
    [MemberData(nameof(NonFiniteShapes))]
    public void NonFiniteHalfWeightsGiveTheScalarTwinsNonFiniteOutputs(string width, int T, int K, int N)
    {
        // Row 2 holds a NaN, row 5 +infinity, row 7 -infinity (rows 5 and 7 with positive x only where
        // the infinity sits, so their outputs are infinite, not NaN): each spoils exactly its own outputs.
        var path = Enum.Parse<SimdPath>(width);
        var random = new Random(T * 7919 + K * 31 + N + 3);
        var x = KernelData.Floats(random, T * K, 2f);
        var w = KernelData.Halves(random, N * K, 0.5f);
        for (int t = 0; t < T; t++)
            x[t * K + 17] = 1f + t;
        w[2 * K + 100] = Half.NaN;
        w[5 * K + 17] = Half.PositiveInfinity;
        w[7 * K + 17] = Half.NegativeInfinity;
        var bias = KernelData.Floats(random, N);
        using var pool = new WorkerPool(2);
        var expected = new float[T * N];
        var actual = new float[T * N];
        Linear.ForwardScalar(x, T, K, w, N, bias, expected);
        Linear.Forward(path, pool, x, T, K, w, N, bias, actual);
        for (int t = 0; t < T; t++)
        {
            Assert.True(float.IsNaN(actual[t * N + 2]), $"y[{t},2] = {actual[t * N + 2]}");
            Assert.Equal(float.PositiveInfinity, actual[t * N + 5]);
            Assert.Equal(float.NegativeInfinity, actual[t * N + 7]);
            for (int n = 0; n < N; n++)
                Assert.Equal(float.IsFinite(expected[t * N + n]), float.IsFinite(actual[t * N + n]));
        }
    }

    [Fact]
    public void HalfWeightsWithLargeNegativeInputsMatchScalarTwin()
    {
        // Only the most negative value is large: the limit applies to |x|, not to the signed maximum.
        const int T = 1, K = 64, N = 8;
        var random = new Random(5);
        var x = KernelData.Floats(random, T * K, 1f);
        x[3] = -2 * Linear.UnscaledLimit;
        var w = KernelData.Halves(random, N * K, 0.5f);
        var wide = w.Select(h => (float)h).ToArray();
        using var pool = new WorkerPool(1);
        var expected = new float[T * N];
        var actual = new float[T * N];
        Linear.ForwardScalar(x, T, K, w, N, [], expected);
        Linear.Forward(pool, x, T, K, w, N, [], actual);
        Assert.All(actual, value => Assert.True(float.IsFinite(value)));
        AssertClose(expected, actual, x, wide, [], T, K, N, Activation.None);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SingleWeightsMatchScalarTwin(string width, int T, int K, int N)
    {
        var path = Enum.Parse<SimdPath>(width);
        var random = new Random(T * 7919 + K * 31 + N + 1);
        var x = KernelData.Floats(random, T * K, 2f);
        var w = KernelData.Floats(random, N * K, 0.5f);
        using var pool = new WorkerPool(2);
        var expected = new float[T * N];
        var actual = new float[T * N];
        Linear.ForwardScalar(x, T, K, w, N, [], expected);
        Linear.Forward(path, pool, x, T, K, w, N, [], actual);
        AssertClose(expected, actual, x, w, [], T, K, N, Activation.None);
    }

    public static TheoryData<string, int, int, int> ProjectionShapes()
    {
        return OnEveryPath([(1, 33, 13), (5, 7, 31), (16, 520, 11), (40, 72, 101), (12, 700, 40)]);
    }

    [Theory]
    [MemberData(nameof(ProjectionShapes))]
    public void ThreeProjectionsEqualThreeSingleCalls(string width, int T, int K, int N)
    {
        var path = Enum.Parse<SimdPath>(width);
        var random = new Random(T * 7919 + K * 31 + N + 2);
        var x = KernelData.Floats(random, T * K, 2f);
        var w = Enumerable.Range(0, 3).Select(_ => KernelData.Halves(random, N * K, 0.5f)).ToArray();
        var wide = w.Select(m => m.Select(h => (float)h).ToArray()).ToArray();
        var bias = Enumerable.Range(0, 3).Select(_ => KernelData.Floats(random, N)).ToArray();
        foreach (int threads in new[] { 1, 2, 3 })
        {
            using var pool = new WorkerPool(threads);
            var fused = Enumerable.Range(0, 3).Select(_ => new float[T * N]).ToArray();
            Linear.Forward(path, pool, x, T, K, N, new Projection<Half>(w[0], bias[0], fused[0]),
                new Projection<Half>(w[1], bias[1], fused[1]), new Projection<Half>(w[2], bias[2], fused[2]));
            var singleWide = Enumerable.Range(0, 3).Select(_ => new float[T * N]).ToArray();
            Linear.Forward(path, pool, x, T, K, N, new Projection<float>(wide[0], bias[0], singleWide[0]),
                new Projection<float>(wide[1], bias[1], singleWide[1]), new Projection<float>(wide[2], bias[2], singleWide[2]));
            for (int m = 0; m < 3; m++)
            {
                var single = new float[T * N];
                Linear.Forward(path, pool, x, T, K, w[m], N, bias[m], single);
                Assert.Equal(single, fused[m]);
                var singleF32 = new float[T * N];
                Linear.Forward(path, pool, x, T, K, wide[m], N, bias[m], singleF32);
                Assert.Equal(singleF32, singleWide[m]);
                var expected = new float[T * N];
                Linear.ForwardScalar(x, T, K, w[m], N, bias[m], expected);
                AssertClose(expected, fused[m], x, wide[m], bias[m], T, K, N, Activation.None);
            }
        }
    }

    [Fact]
    public void ScalarTwinComputesTheDefinition()
    {
        // 2 tokens, K = 3, N = 2, with values exact in fp16 and fp32.
        float[] x = [1, 2, 3, -1, 0.5f, 4];
        Half[] w = [(Half)1, (Half)0, (Half)(-1), (Half)0.25f, (Half)2, (Half)0.5f];
        float[] bias = [10, -10];
        var y = new float[4];
        Linear.ForwardScalar(x, 2, 3, w, 2, bias, y);
        Assert.Equal([1 - 3 + 10, 0.25f + 4 + 1.5f - 10, -1 - 4 + 10, -0.25f + 1 + 2 - 10], y);
    }

    [Fact]
    public void RejectsMisshapedArguments()
    {
        using var pool = new WorkerPool(1);
        Assert.Throws<ArgumentException>(() => Linear.Forward(pool, new float[5], 2, 3, new Half[6], 2, [], new float[4]));
        Assert.Throws<ArgumentException>(() => Linear.Forward(pool, new float[6], 2, 3, new Half[5], 2, [], new float[4]));
        Assert.Throws<ArgumentException>(() => Linear.Forward(pool, new float[6], 2, 3, new Half[6], 2, new float[1], new float[4]));
        Assert.Throws<ArgumentException>(() => Linear.Forward(pool, new float[6], 2, 3, new Half[6], 2, [], new float[3]));
    }

    /// <summary>
    /// Two fp32 dot products of the same K terms summed in different orders differ by at most
    /// 2·γ(K+1)·(Σ|x_k w_k| + |b|), γ(n) = n·u/(1 - n·u) (Higham, Accuracy and Stability, §3.1).
    /// GELU's slope is below 1.13, and each GELU is within 1e-6 of the exact one (ActivationTests).
    /// </summary>
    private static void AssertClose(float[] expected, float[] actual, float[] x, float[] w, float[] bias, int T, int K, int N, Activation activation)
    {
        double gamma = (K + 1) * KernelData.U / (1 - (K + 1) * KernelData.U);
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++)
            {
                double magnitude = bias.Length > 0 ? Math.Abs(bias[n]) : 0;
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
