using XlmEdge.Kernels;

namespace XlmEdge.Tests.Kernels;

public class AttentionTests
{
    public static TheoryData<string, int, int, int> Shapes()
    {
        var data = new TheoryData<string, int, int, int>();
        foreach (var path in CpuFeatures.AllPaths)
            foreach (var (t, heads, headDim) in new[] { (1, 1, 1), (3, 2, 5), (17, 2, 8), (33, 3, 37), (40, 8, 128), (5, 4, 64), (45, 2, 29), (130, 1, 16) })
                data.Add(path.ToString(), t, heads, headDim);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesScalarTwin(string width, int T, int heads, int headDim)
    {
        var path = Enum.Parse<SimdPath>(width);
        var random = new Random(T * 100 + heads * 10 + headDim);
        int size = T * heads * headDim;
        var q = KernelData.Floats(random, size, 3f);
        var k = KernelData.Floats(random, size, 3f);
        var v = KernelData.Floats(random, size, 2f);
        var expected = new float[size];
        var actual = new float[size];
        Attention.SelfAttentionScalar(q, k, v, T, heads, headDim, expected);
        using var pool = new WorkerPool(2);
        Attention.SelfAttention(path, pool, q, k, v, T, heads, headDim, actual);
        var exact = Reference(q, k, v, T, heads, headDim);
        AssertClose(exact, expected, v, T, heads, headDim);
        AssertClose(exact, actual, v, T, heads, headDim);
    }

    [Fact]
    public void RejectsShortOutput()
    {
        using var pool = new WorkerPool(1);
        var data = new float[2 * 4];
        Assert.Throws<ArgumentException>(() => Attention.SelfAttention(pool, data, data, data, 2, 2, 2, new float[7]));
    }

    /// <summary>
    /// Bound on an fp32 result against the double reference: each score s = q·k/√h is off by ≤
    /// γ(h+1)·Σ|q k|/√h =: δ, so each probability relatively by ≤ 2δ + (T + 4)·2u, and the output
    /// Σ p_j v_j additionally by γ(T)·Σ p_j |v_j|.
    /// </summary>
    private static void AssertClose(double[] exact, float[] actual, float[] v, int T, int heads, int headDim)
    {
        int width = heads * headDim;
        double gammaH = (headDim + 1) * KernelData.U / (1 - (headDim + 1) * KernelData.U);
        double gammaT = (T + 1) * KernelData.U / (1 - (T + 1) * KernelData.U);
        for (int i = 0; i < T; i++)
            for (int h = 0; h < heads; h++)
            {
                double vmax = 0;
                for (int j = 0; j < T; j++)
                    for (int c = 0; c < headDim; c++)
                        vmax = Math.Max(vmax, Math.Abs(v[j * width + h * headDim + c]));
                // |q|,|k| ≤ 3, so Σ|q k| ≤ 9·h.
                double delta = gammaH * 9 * headDim / Math.Sqrt(headDim);
                double bound = vmax * (2 * delta + (T + 4) * 2 * KernelData.U + gammaT);
                for (int c = 0; c < headDim; c++)
                {
                    int at = i * width + h * headDim + c;
                    Assert.True(Math.Abs(actual[at] - exact[at]) <= bound, $"out[{i}, head {h}, {c}] = {actual[at]}, exact {exact[at]} (bound {bound})");
                }
            }
    }

    private static double[] Reference(float[] q, float[] k, float[] v, int T, int heads, int headDim)
    {
        int width = heads * headDim;
        var output = new double[T * width];
        var p = new double[T];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < T; i++)
            {
                for (int j = 0; j < T; j++)
                {
                    double dot = 0;
                    for (int c = 0; c < headDim; c++)
                        dot += (double)q[i * width + h * headDim + c] * k[j * width + h * headDim + c];
                    p[j] = dot / Math.Sqrt(headDim);
                }
                double max = p.Max();
                double sum = 0;
                for (int j = 0; j < T; j++)
                    sum += p[j] = Math.Exp(p[j] - max);
                for (int c = 0; c < headDim; c++)
                {
                    double o = 0;
                    for (int j = 0; j < T; j++)
                        o += p[j] / sum * v[j * width + h * headDim + c];
                    output[i * width + h * headDim + c] = o;
                }
            }
        return output;
    }
}
