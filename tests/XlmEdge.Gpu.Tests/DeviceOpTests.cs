using System.Runtime.InteropServices;
using ILGPU;
using XlmEdge.Kernels;
using XlmEdge.Tests.Kernels;
using DeviceHalf = ILGPU.Half;

namespace XlmEdge.Gpu.Tests;

/// <summary>
/// Every device op against its scalar twin on random inputs whose sizes leave tails (not multiples
/// of a group, a warp or a tile), the way ggml's test-backend-ops runs every op of every backend
/// against the CPU. Bounds: both the twin and the device op are within the CPU kernel tests' error
/// bound of the exact result, so they differ by at most twice that bound.
/// </summary>
[Collection(DeviceCollection.Name)]
public sealed class DeviceOpTests
{
    private const double U = KernelData.U;

    /// <summary>The GEMMs the accelerator runs: the own kernel on fp16 and on fp32 weights, and cuBLAS Sgemm on CUDA.</summary>
    public static TheoryData<string, int, int, int> GemmShapes()
    {
        var gemms = new List<string> { "kernel-fp16", "kernel-fp32" };
        if (TestDevice.IsCuda)
            gemms.Add("cublas");
        var data = new TheoryData<string, int, int, int>();
        foreach (string gemm in gemms)
            foreach (var (m, k, n) in new[] { (1, 1, 1), (1, 7, 5), (3, 33, 13), (17, 64, 67), (5, 1024, 9), (33, 300, 19), (2, 65, 257) })
                data.Add(gemm, m, k, n);
        return data;
    }

    [Fact]
    public void WidensEveryHalfAsTheCpuDoes()
    {
        var bits = new System.Half[1 << 16];
        for (int i = 0; i < bits.Length; i++)
            bits[i] = BitConverter.UInt16BitsToHalf((ushort)i);
        var source = TestDevice.Upload(MemoryMarshal.Cast<System.Half, DeviceHalf>(bits).ToArray());
        var destination = TestDevice.Upload(new float[bits.Length]);
        TestDevice.SingleOps.Widen(source, destination, bits.Length);
        var wide = TestDevice.Download(destination, bits.Length);
        for (int i = 0; i < bits.Length; i++)
        {
            float expected = (float)bits[i];
            bool same = BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(wide[i])
                || (float.IsNaN(expected) && float.IsNaN(wide[i]));
            Assert.True(same, $"0x{i:x4}: {wide[i]} vs {expected}");
        }
    }

    [Theory]
    [MemberData(nameof(GemmShapes))]
    public void LinearMatchesScalarTwin(string gemm, int m, int k, int n)
    {
        var random = new Random(m * 7919 + k * 31 + n);
        var x = KernelData.Floats(random, m * k, 2f);
        var w = KernelData.Halves(random, n * k, 0.5f);
        var wide = w.Select(h => (float)h).ToArray();
        var bias = KernelData.Floats(random, n);
        var deviceX = TestDevice.Upload(x);
        var deviceBias = TestDevice.Upload(bias);
        var y = TestDevice.Upload(new float[m * n]);
        foreach (bool gelu in new[] { false, true })
        {
            var expected = new float[m * n];
            Linear.ForwardScalar(x, m, k, w, n, bias, expected, gelu ? Activation.Gelu : Activation.None);
            switch (gemm)
            {
                case "kernel-fp16":
                    TestDevice.HalfOps.Linear(deviceX, TestDevice.Upload(MemoryMarshal.Cast<System.Half, DeviceHalf>(w).ToArray()), deviceBias, y, m, n, k, gelu);
                    break;
                case "kernel-fp32":
                    TestDevice.SingleOps.Linear(deviceX, TestDevice.Upload(wide), deviceBias, y, m, n, k, gelu);
                    break;
                default:
                    var blas = TestDevice.CuBlas ?? throw new InvalidOperationException("cuBLAS did not load on this CUDA machine");
                    blas.Linear(deviceX, m, new DeviceMatrix<float>(TestDevice.Upload(wide), n, k), deviceBias, y, gelu);
                    break;
            }
            var actual = TestDevice.Download(y, m * n);
            // LinearTests' bound: 2γ(K+1)·Σ|x w| per output, GELU's slope below 1.13 plus its own 1e-6
            double gamma = (k + 1) * U / (1 - (k + 1) * U);
            for (int r = 0; r < m; r++)
                for (int c = 0; c < n; c++)
                {
                    double magnitude = Math.Abs(bias[c]);
                    for (int j = 0; j < k; j++)
                        magnitude += Math.Abs((double)x[r * k + j] * wide[c * k + j]);
                    double bound = 2 * (2 * gamma * magnitude);
                    if (gelu)
                        bound = 1.13 * bound + 2 * 2e-6;
                    double error = Math.Abs(expected[r * n + c] - actual[r * n + c]);
                    Assert.True(error <= bound, $"{gemm} gelu={gelu} y[{r},{c}] = {actual[r * n + c]}, scalar twin {expected[r * n + c]} (bound {bound})");
                }
        }
    }

    public static TheoryData<int, int, bool> NormShapes()
    {
        var data = new TheoryData<int, int, bool>();
        foreach (var (rows, d) in new[] { (1, 1), (3, 7), (17, 33), (2, 1024), (5, 1031) })
            foreach (bool residual in new[] { false, true })
                data.Add(rows, d, residual);
        return data;
    }

    [Theory]
    [MemberData(nameof(NormShapes))]
    public void AddNormalizeMatchesScalarTwinAndZeroesPadding(int rows, int d, bool withResidual)
    {
        var random = new Random(rows * 1000 + d);
        // rows live in a padded batch of two sentences of Tmax = rows; the second holds one token less
        int tmax = rows, padded = 2 * rows;
        int[] lengths = [rows, rows - 1];
        var x = KernelData.Floats(random, padded * d, 3f);
        // a large common offset: a one-pass E[x²] - E[x]² variance would lose it to cancellation
        for (int i = 0; i < x.Length; i++)
            x[i] += 100f;
        var residual = withResidual ? KernelData.Floats(random, padded * d, 2f) : [];
        var gamma = KernelData.Floats(random, d, 2f);
        var beta = KernelData.Floats(random, d, 1f);

        var deviceX = TestDevice.Upload(x);
        TestDevice.SingleOps.AddNormalize(deviceX, withResidual ? TestDevice.Upload(residual) : null, TestDevice.Upload(gamma), TestDevice.Upload(beta),
            TestDevice.Upload(lengths), tmax, padded, d, 1e-12f);
        var actual = TestDevice.Download(deviceX, padded * d);
        var expected = (float[])x.Clone();
        LayerNorm.AddNormalizeScalar(expected, residual, padded, d, gamma, beta, 1e-12f);

        for (int row = 0; row < padded; row++)
        {
            bool padding = row % tmax >= lengths[row / tmax];
            // LayerNormTests' bound: (d + 4)·2u·(|x̂| + mean|x|/σ + 1)·|γ| + 4u|β|
            double mean = 0, meanAbs = 0, variance = 0;
            for (int i = 0; i < d; i++)
            {
                double v = x[row * d + i] + (withResidual ? residual[row * d + i] : 0f);
                mean += v;
                meanAbs += Math.Abs(v);
            }
            mean /= d;
            meanAbs /= d;
            for (int i = 0; i < d; i++)
            {
                double v = x[row * d + i] + (withResidual ? residual[row * d + i] : 0f) - mean;
                variance += v * v;
            }
            double std = Math.Sqrt(variance / d);
            for (int i = 0; i < d; i++)
            {
                float a = actual[row * d + i];
                if (padding)
                {
                    Assert.Equal(0f, a);
                    continue;
                }
                double xhat = (expected[row * d + i] - beta[i]) / gamma[i];
                double spread = std > 0 ? meanAbs / std : 0;
                double bound = 2 * (Math.Abs(gamma[i]) * (d + 4) * 2 * U * (Math.Abs(xhat) + spread + 1) + 4 * U * Math.Abs(beta[i]));
                Assert.True(Math.Abs(a - expected[row * d + i]) <= bound, $"row {row} col {i}: {a} vs {expected[row * d + i]} (bound {bound})");
            }
        }
    }

    public static TheoryData<int[], int, int> AttentionShapes() => new()
    {
        { [1], 1, 1 },
        { [5], 2, 5 },
        { [3, 17, 1], 2, 8 },
        { [33, 4], 3, 37 },
        { [40, 39], 8, 128 },
        { [45, 2, 7], 2, 29 },
        { [130], 1, 16 },
    };

    [Theory]
    [MemberData(nameof(AttentionShapes))]
    public void AttentionMatchesScalarTwinPerSentenceAndMasksPadding(int[] lengths, int heads, int headDim)
    {
        var random = new Random(lengths.Sum() * 100 + heads * 10 + headDim);
        int width = heads * headDim, tmax = lengths.Max(), batch = lengths.Length;
        var q = KernelData.Floats(random, batch * tmax * width, 3f);
        var k = KernelData.Floats(random, batch * tmax * width, 3f);
        var v = KernelData.Floats(random, batch * tmax * width, 2f);
        // padding keys hold huge values: unmasked, they would dominate every softmax
        for (int b = 0; b < batch; b++)
            for (int i = lengths[b] * width; i < tmax * width; i++)
                k[b * tmax * width + i] = v[b * tmax * width + i] = 1e4f;

        var output = TestDevice.Upload(new float[q.Length]);
        TestDevice.SingleOps.Attention(TestDevice.Upload(q), TestDevice.Upload(k), TestDevice.Upload(v), output, TestDevice.Upload(lengths),
            batch, tmax, heads, headDim);
        var actual = TestDevice.Download(output, q.Length);

        for (int b = 0; b < batch; b++)
        {
            int n = lengths[b], start = b * tmax * width;
            var expected = new float[n * width];
            Attention.SelfAttentionScalar(q.AsSpan(start, n * width), k.AsSpan(start, n * width), v.AsSpan(start, n * width), n, heads, headDim, expected);
            // AttentionTests' bound: scores off by δ = γ(h+1)·9h/√h (|q|, |k| ≤ 3), probabilities
            // relatively by 2δ + (T + 4)·2u, the weighted sum by γ(T) more, all scaled by max|v|
            double gammaH = (headDim + 1) * U / (1 - (headDim + 1) * U);
            double gammaT = (n + 1) * U / (1 - (n + 1) * U);
            double delta = gammaH * 9 * headDim / Math.Sqrt(headDim);
            double bound = 2 * 2 * (2 * delta + (n + 4) * 2 * U + gammaT);
            for (int i = 0; i < n * width; i++)
                Assert.True(Math.Abs(actual[start + i] - expected[i]) <= bound, $"sentence {b} [{i / width}, {i % width}]: {actual[start + i]} vs {expected[i]} (bound {bound})");
            for (int i = n * width; i < tmax * width; i++)
                Assert.Equal(0f, actual[start + i]);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EmbedAddsTheThreeRowsAndZeroesPadding(bool half)
    {
        var random = new Random(half ? 1 : 2);
        const int vocab = 37, d = 13, context = 9;
        int[] lengths = [4, 9, 1];
        int[] languages = [1, 0, 1];
        int tmax = 9, batch = 3;
        var ids = new int[batch * tmax];
        for (int i = 0; i < ids.Length; i++)
            ids[i] = random.Next(vocab);
        var word = KernelData.Halves(random, vocab * d);
        var position = KernelData.Halves(random, context * d);
        var language = KernelData.Halves(random, 2 * d);
        var x = TestDevice.Upload(new float[batch * tmax * d]);
        var deviceIds = TestDevice.Upload(ids);
        var deviceLengths = TestDevice.Upload(lengths);
        var deviceLanguages = TestDevice.Upload(languages);
        if (half)
            TestDevice.HalfOps.Embed(deviceIds, deviceLengths, deviceLanguages, UploadHalves(word), UploadHalves(position), UploadHalves(language), x, batch, tmax, d);
        else
            TestDevice.SingleOps.Embed(deviceIds, deviceLengths, deviceLanguages, UploadWide(word), UploadWide(position), UploadWide(language), x, batch, tmax, d);
        var actual = TestDevice.Download(x, batch * tmax * d);
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < tmax; p++)
                for (int c = 0; c < d; c++)
                {
                    int row = b * tmax + p;
                    // the CPU's order: word + position, then + language
                    float expected = p < lengths[b]
                        ? (float)word[ids[row] * d + c] + (float)position[p * d + c] + (float)language[languages[b] * d + c]
                        : 0f;
                    Assert.Equal(expected, actual[row * d + c]);
                }
    }

    [Fact]
    public void GatherRowsCopiesTheRowsAskedFor()
    {
        var random = new Random(3);
        const int d = 11;
        var source = KernelData.Floats(random, 20 * d);
        int[] rows = [19, 0, 7, 7];
        var destination = TestDevice.Upload(new float[rows.Length * d]);
        TestDevice.SingleOps.GatherRows(TestDevice.Upload(source), TestDevice.Upload(rows), destination, rows.Length, d);
        var actual = TestDevice.Download(destination, rows.Length * d);
        for (int r = 0; r < rows.Length; r++)
            Assert.Equal(source.AsSpan(rows[r] * d, d).ToArray(), actual.AsSpan(r * d, d).ToArray());
    }

    private static ArrayView<DeviceHalf> UploadHalves(System.Half[] values) => TestDevice.Upload(MemoryMarshal.Cast<System.Half, DeviceHalf>(values).ToArray());

    private static ArrayView<float> UploadWide(System.Half[] values) => TestDevice.Upload(values.Select(h => (float)h).ToArray());
}
