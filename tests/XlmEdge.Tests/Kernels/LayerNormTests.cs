using XlmEdge.Kernels;

namespace XlmEdge.Tests.Kernels;

public class LayerNormTests
{
    public static TheoryData<string, int, int, bool> Cases()
    {
        var data = new TheoryData<string, int, int, bool>();
        foreach (var path in CpuFeatures.AllPaths)
            foreach (var (t, d) in new[] { (1, 1), (3, 7), (17, 33), (2, 1024), (1, 1031) })
                foreach (bool residual in new[] { false, true })
                    data.Add(path.ToString(), t, d, residual);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesDoubleReference(string width, int T, int d, bool withResidual)
    {
        var path = Enum.Parse<SimdPath>(width);
        var random = new Random(T * 1000 + d);
        var x = KernelData.Floats(random, T * d, 3f);
        // A large common offset: a one-pass E[x²] - E[x]² variance would lose it to cancellation.
        for (int i = 0; i < x.Length; i++)
            x[i] += 100f;
        var residual = withResidual ? KernelData.Floats(random, T * d, 2f) : [];
        var gamma = KernelData.Floats(random, d, 2f);
        var beta = KernelData.Floats(random, d, 1f);
        var (expected, meanAbs, std) = Reference(x, residual, T, d, gamma, beta, 1e-12);
        LayerNorm.AddNormalize(path, x, residual, T, d, gamma, beta, 1e-12f);
        for (int t = 0; t < T; t++)
        {
            for (int i = 0; i < d; i++)
            {
                // fp32 sums of d terms in any order: the mean is off by ≤ d·u·mean|x| and σ relatively by
                // ≤ 2d·u, so x̂ = (x - mean)/σ is off by about (d + 4)·2u·(|x̂| + mean|x|/σ + 1);
                // gamma and beta add a few ulps. A constant row (σ = 0) must give beta exactly.
                double xhat = (expected[t * d + i] - beta[i]) / gamma[i];
                double spread = std[t] > 0 ? meanAbs[t] / std[t] : 0;
                double bound = Math.Abs(gamma[i]) * (d + 4) * 2 * KernelData.U * (Math.Abs(xhat) + spread + 1)
                    + 4 * KernelData.U * Math.Abs(beta[i]);
                double error = Math.Abs(x[t * d + i] - expected[t * d + i]);
                Assert.True(error <= bound, $"row {t} col {i}: {x[t * d + i]} vs {expected[t * d + i]} (bound {bound})");
            }
        }
    }

    /// <summary>The vector paths this machine runs (the scalar path has no pool overload of its own).</summary>
    public static TheoryData<string> VectorPaths()
    {
        var data = new TheoryData<string>();
        foreach (var path in CpuFeatures.AllPaths)
            if (path != SimdPath.Scalar)
                data.Add(path.ToString());
        return data;
    }

    [Theory]
    [MemberData(nameof(VectorPaths))]
    public void RowsSharedOverThePoolGiveTheSameBits(string width)
    {
        var path = Enum.Parse<SimdPath>(width);
        const int d = 67;
        var random = new Random(5);
        var gamma = KernelData.Floats(random, d, 2f);
        var beta = KernelData.Floats(random, d, 1f);
        using var pool = new WorkerPool(3);
        foreach (int T in new[] { 1, LayerNorm.ParallelRows - 1, LayerNorm.ParallelRows, LayerNorm.ParallelRows + LayerNorm.RowsPerItem + 3, 300 })
            foreach (bool withResidual in new[] { false, true })
            {
                var x = KernelData.Floats(random, T * d, 3f);
                var residual = withResidual ? KernelData.Floats(random, T * d, 2f) : [];
                var alone = (float[])x.Clone();
                LayerNorm.AddNormalize(path, alone, residual, T, d, gamma, beta, 1e-12f);
                switch (path)
                {
                    case SimdPath.Vector512: LayerNorm.AddNormalize<Simd512, System.Runtime.Intrinsics.Vector512<float>>(pool, x, residual, T, d, gamma, beta, 1e-12f); break;
                    case SimdPath.Vector256: LayerNorm.AddNormalize<Simd256, System.Runtime.Intrinsics.Vector256<float>>(pool, x, residual, T, d, gamma, beta, 1e-12f); break;
                    default: LayerNorm.AddNormalize<Simd128, System.Runtime.Intrinsics.Vector128<float>>(pool, x, residual, T, d, gamma, beta, 1e-12f); break;
                }
                Assert.Equal(alone, x);
            }
    }

    [Theory]
    [MemberData(nameof(KernelData.Paths), MemberType = typeof(KernelData))]
    public void ConstantRowGivesBetaNotNaN(string width)
    {
        var path = Enum.Parse<SimdPath>(width);
        var x = Enumerable.Repeat(5f, 37).ToArray();
        var gamma = Enumerable.Repeat(2f, 37).ToArray();
        var beta = Enumerable.Range(0, 37).Select(i => i * 0.5f).ToArray();
        LayerNorm.AddNormalize(path, x, [], 1, 37, gamma, beta, 1e-12f);
        Assert.Equal(beta, x);
    }

    [Fact]
    public void RejectsShortGamma() =>
        Assert.Throws<ArgumentException>(() => LayerNorm.AddNormalize(new float[8], [], 2, 4, new float[3], new float[4], 1e-12f));

    private static (double[] Values, double[] MeanAbs, double[] Std) Reference(float[] x, float[] residual, int T, int d, float[] gamma, float[] beta, double eps)
    {
        var result = new double[T * d];
        var meanAbs = new double[T];
        var std = new double[T];
        for (int t = 0; t < T; t++)
        {
            var row = new double[d];
            for (int i = 0; i < d; i++)
                row[i] = (double)(residual.Length > 0 ? x[t * d + i] + residual[t * d + i] : x[t * d + i]);
            double mean = row.Average();
            double variance = row.Sum(v => (v - mean) * (v - mean)) / d;
            meanAbs[t] = row.Average(Math.Abs);
            std[t] = Math.Sqrt(variance);
            for (int i = 0; i < d; i++)
                result[t * d + i] = (row[i] - mean) / Math.Sqrt(variance + eps) * gamma[i] + beta[i];
        }
        return (result, meanAbs, std);
    }
}
