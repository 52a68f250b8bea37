using XlmEdge.Kernels;

namespace XlmEdge.Model;

/// <summary>
/// Picks the next token from a row of logits as <see cref="SamplingOptions"/> says: greedy, or
/// temperature, then top-k, then top-p, then one draw. Buffers are reused across steps.
/// </summary>
internal sealed class TokenSampler
{
    private readonly SamplingOptions _options;
    private ulong _state;
    private int[] _order = [];
    private double[] _probabilities = [];

    public TokenSampler(SamplingOptions options)
    {
        options.Validate();
        _options = options;
        _state = options.Seed;
    }

    /// <summary>The next token id for <paramref name="logits"/> (one per vocabulary entry).</summary>
    public int Next(ReadOnlySpan<float> logits)
    {
        if (!_options.IsSampling)
            return ArgMax(logits);

        int v = logits.Length;
        int k = _options.TopK == 0 ? v : Math.Min(_options.TopK, v);
        if (_order.Length < v)
        {
            _order = new int[v];
            _probabilities = new double[v];
        }
        var order = _order.AsSpan(0, k);
        if (k == v && _options.TopP >= 1)
        {
            // Neither cut needs an order: draw from the whole vocabulary.
            for (int i = 0; i < v; i++)
                order[i] = i;
        }
        else
        {
            TopK.Select(logits, order);
        }

        // softmax(logits / T) over the candidates, in double, shifted by their maximum
        double temperature = _options.Temperature, max = double.NegativeInfinity;
        foreach (int id in order)
            max = Math.Max(max, logits[id] / temperature);
        var p = _probabilities.AsSpan(0, k);
        double total = 0;
        for (int i = 0; i < k; i++)
            total += p[i] = Math.Exp(logits[order[i]] / temperature - max);

        // top-p: the smallest prefix of the ordered candidates whose probability reaches TopP
        int kept = k;
        if (_options.TopP < 1)
        {
            double cumulative = 0, threshold = _options.TopP * total;
            for (kept = 0; kept < k;)
            {
                cumulative += p[kept++];
                if (cumulative >= threshold)
                    break;
            }
            total = cumulative;
        }

        double u = NextUniform() * total;
        for (int i = 0; i < kept - 1; i++)
        {
            u -= p[i];
            if (u < 0)
                return order[i];
        }
        return order[kept - 1];
    }

    /// <summary>The index of the largest logit, the lowest on a tie (NaN ranks below every number).</summary>
    internal static int ArgMax(ReadOnlySpan<float> logits)
    {
        Span<int> best = [0];
        TopK.Select(logits, best);
        return best[0];
    }

    // SplitMix64 (Steele, Lea, Flood 2014): small, fast, and the same sequence on every platform.
    private double NextUniform()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
