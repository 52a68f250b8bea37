namespace XlmEdge.Tests.Model;

/// <summary>
/// How far one set of mask logit rows is from a reference set (q8 against fp16 or the goldens): top-1
/// agreement, top-5 overlap, largest logit error and mean KL(reference ‖ other) of the mask distributions.
/// Also compiled into the benchmark's accuracy mode, so the README's table and the tests measure alike.
/// </summary>
internal sealed class MaskAgreement
{
    private int _masks, _top1;
    private double _top5, _kl;

    /// <summary>Masks compared so far.</summary>
    public int Masks => _masks;
    /// <summary>Fraction of masks whose most likely token is the same.</summary>
    public double Top1 => (double)_top1 / _masks;
    /// <summary>Mean |top-5 ∩ reference top-5| / 5.</summary>
    public double Top5 => _top5 / _masks;
    /// <summary>Largest |logit - reference logit| over every vocabulary entry of every mask.</summary>
    public double MaxLogitError { get; private set; }
    /// <summary>Mean over masks of KL(p_reference ‖ p) in nats, softmax over the whole vocabulary in double.</summary>
    public double MeanKl => _kl / _masks;

    public void Add(ReadOnlySpan<float> reference, ReadOnlySpan<float> other)
    {
        if (reference.Length != other.Length)
            throw new ArgumentException("logit rows of different lengths");
        _masks++;
        var bestReference = Top(reference, 5);
        var best = Top(other, 5);
        _top1 += bestReference[0] == best[0] ? 1 : 0;
        _top5 += bestReference.Intersect(best).Count() / 5.0;
        double maxError = MaxLogitError;
        for (int i = 0; i < reference.Length; i++)
            maxError = Math.Max(maxError, Math.Abs((double)reference[i] - other[i]));
        MaxLogitError = maxError;
        double lseReference = LogSumExp(reference), lse = LogSumExp(other), kl = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double logP = reference[i] - lseReference;
            kl += Math.Exp(logP) * (logP - (other[i] - lse));
        }
        _kl += kl;
    }

    /// <summary>Indexes of the <paramref name="k"/> largest values, largest first (lower index first on ties).</summary>
    public static int[] Top(ReadOnlySpan<float> values, int k)
    {
        var best = new List<int>(k + 1);
        for (int i = 0; i < values.Length; i++)
        {
            int at = best.Count;
            while (at > 0 && values[best[at - 1]] < values[i])
                at--;
            if (at < k)
            {
                best.Insert(at, i);
                if (best.Count > k)
                    best.RemoveAt(k);
            }
        }
        return [.. best];
    }

    private static double LogSumExp(ReadOnlySpan<float> values)
    {
        double max = double.NegativeInfinity, sum = 0;
        foreach (float v in values)
            max = Math.Max(max, v);
        foreach (float v in values)
            sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }
}
