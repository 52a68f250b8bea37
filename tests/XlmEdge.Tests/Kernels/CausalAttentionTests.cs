using XlmEdge.Kernels;

namespace XlmEdge.Tests.Kernels;

public class CausalAttentionTests
{
    public static TheoryData<string, int, int, int, int> Shapes()
    {
        var data = new TheoryData<string, int, int, int, int>();
        foreach (var path in CpuFeatures.AllPaths)
            foreach (var (start, n, heads, headDim) in new[]
                     { (0, 1, 1, 1), (0, 3, 2, 5), (0, 17, 2, 8), (5, 1, 8, 128), (40, 1, 3, 37), (7, 20, 4, 64), (0, 45, 2, 29), (100, 33, 1, 16) })
                data.Add(path.ToString(), start, n, heads, headDim);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesScalarTwinAndTheExactCausalAttention(string width, int start, int n, int heads, int headDim)
    {
        var path = Enum.Parse<SimdPath>(width);
        var random = new Random(start * 1000 + n * 100 + heads * 10 + headDim);
        int w = heads * headDim, total = start + n;
        var q = KernelData.Floats(random, n * w, 3f);
        var k = KernelData.Floats(random, total * w, 3f);
        var v = KernelData.Floats(random, total * w, 2f);
        var expected = new float[n * w];
        var actual = new float[n * w];
        CausalAttention.ForwardScalar(q, k, v, start, n, heads, headDim, expected);
        using var pool = new WorkerPool(2);
        CausalAttention.Forward(path, pool, q, k, v, start, n, heads, headDim, actual);
        var exact = Reference(q, k, v, start, n, heads, headDim);
        AssertClose(exact, expected, v, start, n, heads, headDim);
        AssertClose(exact, actual, v, start, n, heads, headDim);
    }

    [Theory]
    [MemberData(nameof(KernelData.Paths), MemberType = typeof(KernelData))]
    public void OnePositionAtATimeGivesTheRowsOfTheWholeSequenceBitForBit(string width)
    {
        // What the key/value cache relies on: row i of a whole-sentence call only reads keys and values 0..i.
        var path = Enum.Parse<SimdPath>(width);
        var random = new Random(3);
        const int T = 23, heads = 3, headDim = 20, w = heads * headDim;
        var q = KernelData.Floats(random, T * w, 3f);
        var k = KernelData.Floats(random, T * w, 3f);
        var v = KernelData.Floats(random, T * w, 2f);
        var whole = new float[T * w];
        using var pool = new WorkerPool(2);
        CausalAttention.Forward(path, pool, q, k, v, 0, T, heads, headDim, whole);

        var row = new float[w];
        for (int i = 0; i < T; i++)
        {
            // keys and values past position i hold garbage, as an unfilled cache does
            var kCache = k[..((i + 1) * w)].Concat(Enumerable.Repeat(float.NaN, (T - i - 1) * w)).ToArray();
            var vCache = v[..((i + 1) * w)].Concat(Enumerable.Repeat(float.NaN, (T - i - 1) * w)).ToArray();
            CausalAttention.Forward(path, pool, q.AsSpan(i * w, w), kCache, vCache, i, 1, heads, headDim, row);
            Assert.Equal(whole.AsSpan(i * w, w).ToArray(), row);
        }
    }

    [Fact]
    public void RejectsShortBuffers()
    {
        using var pool = new WorkerPool(1);
        var data = new float[3 * 4];
        Assert.Throws<ArgumentException>(() => CausalAttention.Forward(pool, data, data, data, 2, 2, 2, 2, new float[8]));
        Assert.Throws<ArgumentException>(() => CausalAttention.Forward(pool, data, data, data, 0, 2, 2, 2, new float[7]));
        Assert.Throws<ArgumentOutOfRangeException>(() => CausalAttention.Forward(pool, data, data, data, -1, 1, 2, 2, new float[4]));
    }

    /// <summary>
    /// Bound against the double reference, the argument of AttentionTests per row: with |q|, |k| ≤ 3 each
    /// score is off by ≤ δ = γ(h+1)·9h/√h, each probability relatively by ≤ 2δ + (L + 4)·2u over the
    /// L visible keys, and the output Σ p_j v_j additionally by γ(L)·max|v|.
    /// </summary>
    private static void AssertClose(double[] exact, float[] actual, float[] v, int start, int n, int heads, int headDim)
    {
        int width = heads * headDim;
        double gammaH = (headDim + 1) * KernelData.U / (1 - (headDim + 1) * KernelData.U);
        double delta = gammaH * 9 * headDim / Math.Sqrt(headDim);
        for (int i = 0; i < n; i++)
        {
            int visible = start + i + 1;
            double gammaL = (visible + 1) * KernelData.U / (1 - (visible + 1) * KernelData.U);
            for (int h = 0; h < heads; h++)
            {
                double vmax = 0;
                for (int j = 0; j < visible; j++)
                    for (int c = 0; c < headDim; c++)
                        vmax = Math.Max(vmax, Math.Abs(v[j * width + h * headDim + c]));
                double bound = vmax * (2 * delta + (visible + 4) * 2 * KernelData.U + gammaL);
                for (int c = 0; c < headDim; c++)
                {
                    int at = i * width + h * headDim + c;
                    Assert.True(Math.Abs(actual[at] - exact[at]) <= bound, $"out[{i}, head {h}, {c}] = {actual[at]}, exact {exact[at]} (bound {bound})");
                }
            }
        }
    }

    private static double[] Reference(float[] q, float[] k, float[] v, int start, int n, int heads, int headDim)
    {
        int width = heads * headDim;
        var output = new double[n * width];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < n; i++)
            {
                int visible = start + i + 1;
                var p = new double[visible];
                for (int j = 0; j < visible; j++)
                {
                    double dot = 0;
                    for (int c = 0; c < headDim; c++)
                        dot += (double)q[i * width + h * headDim + c] * k[j * width + h * headDim + c];
                    p[j] = dot / Math.Sqrt(headDim);
                }
                double max = p.Max(), sum = 0;
                for (int j = 0; j < visible; j++)
                    sum += p[j] = Math.Exp(p[j] - max);
                for (int c = 0; c < headDim; c++)
                {
                    double o = 0;
                    for (int j = 0; j < visible; j++)
                        o += p[j] / sum * v[j * width + h * headDim + c];
                    output[i * width + h * headDim + c] = o;
                }
            }
        return output;
    }
}
