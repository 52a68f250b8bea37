using System.Runtime.Intrinsics;
using XlmEdge.Kernels;

namespace XlmEdge.Tests.Kernels;

public class SoftmaxTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var path in CpuFeatures.AllPaths)
            foreach (int n in new[] { 1, 3, 7, 17, 33, 128, 1000 })
                data.Add(path.ToString(), n);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void InPlaceMatchesDoubleReference(string width, int n)
    {
        var path = Enum.Parse<SimdPath>(width);
        var random = new Random(n);
        // Large offsets: without the max shift exp would overflow.
        var x = KernelData.Floats(random, n, 30f);
        for (int i = 0; i < n; i++)
            x[i] += 200f;
        double max = x.Max();
        var exps = x.Select(v => Math.Exp(v - max)).ToArray();
        double sum = exps.Sum();
        Softmax.InPlace(path, x);
        // Each output: exp (a few ulps) over a sum of n terms (n ulps): relative error ≤ (n + 4)·2u.
        double bound = (n + 4) * 2 * KernelData.U;
        for (int i = 0; i < n; i++)
        {
            double expected = exps[i] / sum;
            Assert.True(Math.Abs(x[i] - expected) <= bound * expected + 1e-30, $"p[{i}] = {x[i]}, expected {expected}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LogSumExpMatchesDoubleReference(string width, int n)
    {
        var path = Enum.Parse<SimdPath>(width);
        var random = new Random(n + 1);
        var x = KernelData.Floats(random, n, 50f);
        double max = x.Max();
        double expected = max + Math.Log(x.Sum(v => Math.Exp(v - max)));
        float actual = Softmax.LogSumExp(path, x);
        // The max is exact; the log of a sum with relative error (n + 4)·2u adds that much absolutely.
        double bound = Math.Abs(expected) * 2 * KernelData.U + (n + 4) * 2 * KernelData.U;
        Assert.True(Math.Abs(actual - expected) <= bound, $"{actual} vs {expected}");
    }

    [Fact]
    public void FastExpMatchesCephesAccuracyOnItsRange()
    {
        // Softmax and GELU use it; their own tests bound the end results, this one the building block.
        var x = new List<float>();
        for (int i = -87_000; i <= 88_000; i++)
            x.Add(i * 1e-3f);
        var random = new Random(11);
        for (int i = 0; i < 20_000; i++)
            x.Add((float)(random.NextDouble() * 4 - 2));
        while (x.Count % 16 != 0)
            x.Add(0.5f);
        var input = x.ToArray();
        Check(input, i => FastExp.Exp(Vector128.LoadUnsafe(ref input[i])).GetElement(0), 1);
        Check(input, i => FastExp.Exp(Vector256.LoadUnsafe(ref input[i])).GetElement(0), 1);
        Check(input, i => FastExp.Exp(Vector512.LoadUnsafe(ref input[i])).GetElement(0), 1);

        static void Check(float[] input, Func<int, float> exp, int step)
        {
            for (int i = 0; i + 16 <= input.Length; i += step)
            {
                // Cephes expf documents a peak relative error of 2.0e-7 on ±88; the final rounding adds u.
                double expected = Math.Exp(input[i]);
                float actual = exp(i);
                Assert.True(Math.Abs(actual - expected) <= (2.0e-7 + KernelData.U) * expected, $"exp({input[i]:R}) = {actual:R}, expected {expected:R}, relative error {Math.Abs(actual - expected) / expected}");
            }
        }
    }

    [Fact]
    public void LogSumExpOfNothingIsMinusInfinity() =>
        Assert.Equal(float.NegativeInfinity, Softmax.LogSumExp(ReadOnlySpan<float>.Empty));
}
