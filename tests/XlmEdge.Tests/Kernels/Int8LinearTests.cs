using XlmEdge.Kernels;

namespace XlmEdge.Tests.Kernels;

public class Int8LinearTests
{
    /// <summary>Each path this machine runs (ARM64 paths run in the arm64 CI leg under qemu).</summary>
    public static TheoryData<string> Paths()
    {
        var data = new TheoryData<string>();
        foreach (var path in Int8Paths.Supported)
            data.Add(path.ToString());
        return data;
    }

    public static TheoryData<string, int, int, int> Shapes()
    {
        var shapes = new (int T, int K, int N)[]
        {
            // one token (the output layer at one mask), two, three, tokens past a multiple of three
            (1, 1, 1), (1, 7, 5), (2, 33, 13), (3, 64, 4), (4, 33, 7), (5, 15, 31), (7, 100, 9),
            // K shorter than a vector, a whole number of vectors at every width, and tails after vectors
            (8, 16, 8), (16, 1024, 50), (17, 1000, 13), (33, 300, 19), (40, 513, 37), (3, 4100, 6),
            // rows past a multiple of four, several items per thread
            (6, 129, 301), (2, 64, 1030),
        };
        var data = new TheoryData<string, int, int, int>();
        foreach (var path in Int8Paths.Supported)
            foreach (var (t, k, n) in shapes)
                data.Add(path.ToString(), t, k, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void EveryPathEqualsTheScalarTwin(string name, int T, int K, int N)
    {
        var path = Enum.Parse<Int8Path>(name);
        var random = new Random(T * 7919 + K * 31 + N);
        var x = KernelData.Floats(random, T * K, 3f);
        var (w, scales) = Weights(random, N, K);
        var bias = KernelData.Floats(random, N);
        foreach (int threads in new[] { 1, 2, 3 })
        {
            using var pool = new WorkerPool(threads);
            var expected = new float[T * N];
            var actual = new float[T * N];
            Int8Linear.ForwardScalar(x, T, K, N, new(w, scales, bias, expected));
            Int8Linear.Forward(path, pool, x, T, K, N, new(w, scales, bias, actual));
            Assert.Equal(expected, actual);

            // GELU fused: the float kernels' vector GELU, within its bound of the scalar one.
            Int8Linear.ForwardScalar(x, T, K, N, new(w, scales, [], expected), Activation.Gelu);
            Int8Linear.Forward(path, pool, x, T, K, N, new(w, scales, [], actual), Activation.Gelu);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-6 * Math.Max(1, Math.Abs(expected[i])), $"{i}: {expected[i]} vs {actual[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void ExtremeValuesNeitherSaturateNorOverflow(string name)
    {
        // vpmaddubsw saturates int16 pair sums; the sign trick keeps them at 2·128·127. Every product at its
        // largest (x = ±127 against w = -128) over K = 4100, with alternating and equal signs.
        var path = Enum.Parse<Int8Path>(name);
        const int T = 4, K = 4100, N = 5;
        var x = new float[T * K];
        for (int i = 0; i < x.Length; i++)
            x[i] = (i / K) switch { 0 => 127, 1 => -127, 2 => i % 2 == 0 ? 127 : -127, _ => i % 3 == 0 ? -127 : 127 };
        var w = new sbyte[N * K];
        for (int i = 0; i < w.Length; i++)
            w[i] = (i / K) switch { 0 => -128, 1 => 127, 2 => (sbyte)(i % 2 == 0 ? -128 : 127), 3 => (sbyte)(i % 5 - 2), _ => -127 };
        float[] scales = [1, 1, 1, 1, 1];
        using var pool = new WorkerPool(2);
        var expected = new float[T * N];
        var actual = new float[T * N];
        Int8Linear.ForwardScalar(x, T, K, N, new(w, scales, [], expected));
        Int8Linear.Forward(path, pool, x, T, K, N, new(w, scales, [], actual));
        Assert.Equal(expected, actual);
        // The twin itself: x is quantized exactly (scale 1), so the sums are the exact integers.
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++)
            {
                long sum = 0;
                for (int k = 0; k < K; k++)
                    sum += (long)x[t * K + k] * w[n * K + k];
                Assert.Equal((float)sum, expected[t * N + n]);
            }
    }

    [Fact]
    public void TheTwinComputesTheDequantizedProduct()
    {
        // Rows of integers whose largest magnitude is 127 quantize exactly (scale 1): y must be the exact
        // Σ x·q_w·s_w (computed in double) rounded once per step as the twin does: within 1e-6 relative.
        var random = new Random(5);
        const int T = 5, K = 77, N = 9;
        var x = new float[T * K];
        for (int i = 0; i < x.Length; i++)
            x[i] = random.Next(-127, 128);
        for (int t = 0; t < T; t++)
            x[t * K + t] = 127;
        var (w, scales) = Weights(random, N, K);
        var bias = KernelData.Floats(random, N);
        var y = new float[T * N];
        Int8Linear.ForwardScalar(x, T, K, N, new(w, scales, bias, y));
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++)
            {
                double sum = 0;
                for (int k = 0; k < K; k++)
                    sum += x[t * K + k] * w[n * K + k];
                double exact = sum * scales[n] + bias[n];
                Assert.True(Math.Abs(exact - y[t * N + n]) <= 1e-6 * Math.Max(1, Math.Abs(exact)), $"{exact} vs {y[t * N + n]}");
            }
    }

    [Fact]
    public void TheTwinIsWithinTheQuantizationBoundOfTheFloatProduct()
    {
        // |y - x·W'^T| ≤ Σ_k |W'[n,k]|·s_x/2 per output, W' the dequantized weights: only the activations' rounding remains.
        var random = new Random(6);
        const int T = 7, K = 300, N = 11;
        var x = KernelData.Floats(random, T * K, 2f);
        var (w, scales) = Weights(random, N, K);
        var y = new float[T * N];
        Int8Linear.ForwardScalar(x, T, K, N, new(w, scales, [], y));
        for (int t = 0; t < T; t++)
        {
            double step = x.AsSpan(t * K, K).ToArray().Max(Math.Abs) / 127.0;
            for (int n = 0; n < N; n++)
            {
                double exact = 0, bound = 0;
                for (int k = 0; k < K; k++)
                {
                    double wk = w[n * K + k] * (double)scales[n];
                    exact += x[t * K + k] * wk;
                    bound += Math.Abs(wk) * step / 2;
                }
                Assert.True(Math.Abs(exact - y[t * N + n]) <= bound * 1.0001 + 1e-5, $"{exact} vs {y[t * N + n]} (bound {bound})");
            }
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 17)]
    [InlineData(16, 1024)]
    [InlineData(19, 1001)]
    public void VectorQuantizationEqualsTheScalarTwin(int T, int K)
    {
        var random = new Random(T + K);
        var x = KernelData.Floats(random, T * K, 5f);
        if (T > 2)
        {
            x.AsSpan(K, K).Clear();              // a row of zeros: scale 0
            x[2 * K + K / 2] = float.NaN;         // a NaN: scale NaN, zeros
        }
        int stride = Int8Linear.Stride(K);
        var (q1, s1, c1) = (new sbyte[T * stride], new float[T], new int[T]);
        var (q2, s2, c2) = (new sbyte[T * stride], new float[T], new int[T]);
        q1.AsSpan().Fill(99);
        q2.AsSpan().Fill(99);
        Int8Linear.QuantizeScalar(x, T, K, q1, stride, s1, c1);
        Int8Linear.Quantize(x, T, K, q2, stride, s2, c2);
        Assert.Equal(q1, q2);
        Assert.Equal(s1, s2);
        Assert.Equal(c1, c2);
        for (int t = 0; t < T; t++)
        {
            Assert.All(q1.AsSpan(t * stride + K, stride - K).ToArray(), v => Assert.Equal(0, v));
            Assert.Equal(q1.AsSpan(t * stride, K).ToArray().Sum(v => v), c1[t]);
            if (!float.IsNaN(s1[t]) && s1[t] > 0)
                Assert.Contains(q1.AsSpan(t * stride, K).ToArray(), v => Math.Abs((int)v) == 127);
        }
        if (T > 2)
        {
            Assert.Equal(0f, s1[1]);
            Assert.True(float.IsNaN(s1[2]));
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void NonFiniteInputSpoilsOnlyItsTokensOutputs(string name)
    {
        var path = Enum.Parse<Int8Path>(name);
        const int T = 7, K = 96, N = 10;
        var random = new Random(8);
        var x = KernelData.Floats(random, T * K);
        x[3 * K + 5] = float.NaN;
        x[5 * K + 90] = float.PositiveInfinity;
        var (w, scales) = Weights(random, N, K);
        using var pool = new WorkerPool(2);
        var y = new float[T * N];
        Int8Linear.Forward(path, pool, x, T, K, N, new(w, scales, [], y));
        for (int i = 0; i < y.Length; i++)
            Assert.Equal(i / N is 3 or 5, float.IsNaN(y[i]));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void ThreeProjectionsEqualThreeCalls(string name)
    {
        var path = Enum.Parse<Int8Path>(name);
        const int T = 10, K = 130, N = 21;
        var random = new Random(9);
        var x = KernelData.Floats(random, T * K);
        var weights = Enumerable.Range(0, 3).Select(_ => Weights(random, N, K)).ToArray();
        var biases = Enumerable.Range(0, 3).Select(_ => KernelData.Floats(random, N)).ToArray();
        var together = Enumerable.Range(0, 3).Select(_ => new float[T * N]).ToArray();
        using var pool = new WorkerPool(2);
        Int8Linear.Forward(path, pool, x, T, K, N,
            new(weights[0].W, weights[0].Scales, biases[0], together[0]),
            new(weights[1].W, weights[1].Scales, biases[1], together[1]),
            new(weights[2].W, weights[2].Scales, biases[2], together[2]));
        for (int i = 0; i < 3; i++)
        {
            var alone = new float[T * N];
            Int8Linear.ForwardScalar(x, T, K, N, new(weights[i].W, weights[i].Scales, biases[i], alone));
            Assert.Equal(alone, together[i]);
        }
    }

    [Fact]
    public void APathTheCpuLacksIsRefused()
    {
        var missing = Int8Paths.All.FirstOrDefault(p => !Int8Paths.IsSupported(p), Int8Path.Scalar);
        if (missing == Int8Path.Scalar)
            return; // every path runs here (no CPU has both ARM64 and x64 instructions)
        using var pool = new WorkerPool(1);
        Assert.Throws<PlatformNotSupportedException>(() =>
            Int8Linear.Forward(missing, pool, new float[4], 1, 4, 1, new(new sbyte[4], [1f], [], new float[1])));
    }

    [Fact]
    public void SelectedPathIsSupportedAndNoWiderThanTheFloatWidth()
    {
        Assert.True(Int8Paths.IsSupported(Int8Paths.Selected));
        Assert.True(Int8Paths.FloatWidth(Int8Paths.Selected) <= CpuFeatures.Selected || Int8Paths.Selected == Int8Path.Scalar);
        foreach (var width in CpuFeatures.AllPaths)
        {
            var path = Int8Paths.Preferred(width);
            Assert.True(Int8Paths.IsSupported(path));
            Assert.True(Int8Paths.FloatWidth(path) <= width, $"{width}: {path}");
        }
    }

    /// <summary>Random int8 rows in [-127, 127] (the quantizer's range; -128 is tested apart) and positive scales.</summary>
    internal static (sbyte[] W, float[] Scales) Weights(Random random, int N, int K)
    {
        var w = new sbyte[N * K];
        for (int i = 0; i < w.Length; i++)
            w[i] = (sbyte)random.Next(-127, 128);
        var scales = new float[N];
        for (int n = 0; n < N; n++)
            scales[n] = (float)(0.001 + random.NextDouble() * 0.01);
        return (w, scales);
    }
}
