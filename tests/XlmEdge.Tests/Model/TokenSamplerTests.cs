using XlmEdge.Model;

namespace XlmEdge.Tests.Model;

public class TokenSamplerTests
{
    private static readonly float[] Logits = [1f, 3f, 2.5f, -1f, 3f, 0f];

    [Fact]
    public void GreedyTakesTheLargestLogitAndTheLowerIdOnATie()
    {
        var sampler = new TokenSampler(SamplingOptions.Greedy);
        Assert.Equal(1, sampler.Next(Logits));
        Assert.Equal(1, sampler.Next(Logits));
        Assert.Equal(2, new TokenSampler(SamplingOptions.Greedy).Next([float.NaN, 0f, 1f]));
    }

    [Fact]
    public void DrawsFollowTheSoftmaxOfTheScaledLogits()
    {
        const int Draws = 200_000;
        foreach (float temperature in new[] { 0.5f, 1f, 2f })
        {
            var sampler = new TokenSampler(new SamplingOptions { Temperature = temperature, Seed = 7 });
            var counts = new int[Logits.Length];
            for (int i = 0; i < Draws; i++)
                counts[sampler.Next(Logits)]++;
            var expected = Softmax(Logits.Select(l => l / temperature).ToArray());
            for (int id = 0; id < Logits.Length; id++)
            {
                // five standard deviations of a binomial count
                double sigma = Math.Sqrt(Draws * expected[id] * (1 - expected[id]));
                Assert.True(Math.Abs(counts[id] - Draws * expected[id]) <= 5 * sigma + 1,
                    $"T={temperature} id {id}: {counts[id]} draws, expected {Draws * expected[id]:F0}");
            }
        }
    }

    [Fact]
    public void TopKAndTopPKeepOnlyTheMostLikelyTokens()
    {
        var topK = new TokenSampler(new SamplingOptions { Temperature = 1, TopK = 2, Seed = 1 });
        var topP = new TokenSampler(new SamplingOptions { Temperature = 1, TopP = 0.6f, Seed = 1 });
        var seenK = new HashSet<int>();
        var seenP = new HashSet<int>();
        for (int i = 0; i < 5000; i++)
        {
            seenK.Add(topK.Next(Logits));
            seenP.Add(topP.Next(Logits));
        }
        // ids 1 and 4 tie at 3 (about 0.35 each): top-2 keeps exactly them, and so does top-p 0.6 (0.70 >= 0.6 > 0.35).
        Assert.Equal([1, 4], seenK.Order());
        Assert.Equal([1, 4], seenP.Order());
        var tiny = new TokenSampler(new SamplingOptions { Temperature = 1, TopP = 1e-6f, Seed = 1 });
        Assert.Equal(1, tiny.Next(Logits));
    }

    [Fact]
    public void TheSameSeedDrawsTheSameTokens()
    {
        var options = new SamplingOptions { Temperature = 1, Seed = 123 };
        var a = new TokenSampler(options);
        var b = new TokenSampler(options);
        var c = new TokenSampler(options with { Seed = 124 });
        var drawsA = Enumerable.Range(0, 64).Select(_ => a.Next(Logits)).ToArray();
        Assert.Equal(drawsA, Enumerable.Range(0, 64).Select(_ => b.Next(Logits)));
        Assert.NotEqual(drawsA, Enumerable.Range(0, 64).Select(_ => c.Next(Logits)));
    }

    private static double[] Softmax(float[] x)
    {
        double max = x.Max();
        var e = x.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        return [.. e.Select(v => v / sum)];
    }
}
