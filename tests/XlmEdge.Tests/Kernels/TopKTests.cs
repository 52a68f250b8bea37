using XlmEdge.Kernels;

namespace XlmEdge.Tests.Kernels;

public class TopKTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(10, 1)]
    [InlineData(10, 10)]
    [InlineData(1000, 5)]
    [InlineData(64139, 20)]
    public void SelectsTheLargestInDescendingOrderLowerIndexFirstOnTies(int n, int k)
    {
        var random = new Random(n * 31 + k);
        // Values from a small set so ties are common.
        var values = Enumerable.Range(0, n).Select(_ => (float)random.Next(-50, 50)).ToArray();
        var expected = Enumerable.Range(0, n).OrderByDescending(i => values[i]).ThenBy(i => i).Take(k).ToArray();
        var actual = new int[k];
        TopK.Select(values, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void NaNRanksLast()
    {
        float[] values = [float.NaN, 1f, float.NaN, -2f, 3f];
        var actual = new int[4];
        TopK.Select(values, actual);
        Assert.Equal([4, 1, 3, 0], actual);
    }

    [Fact]
    public void RejectsMoreThanAvailable() =>
        Assert.Throws<ArgumentException>(() => TopK.Select(new float[3], new int[4]));
}
