using System.Numerics.Tensors;

namespace XlmEdge.Benchmarks;

/// <summary>
/// The fill-mask read-out a peer needs after its graph has produced a logit row: the k largest
/// logits and their softmax probabilities. Timed with the peer, as XlmEdge's FillMaskIds does
/// the same work inside.
/// </summary>
internal static class TopK
{
    /// <param name="row">The logits at one mask position.</param>
    /// <param name="ids">Receives the ids of the k largest logits, largest first (k = its length).</param>
    /// <param name="logits">Receives those logits.</param>
    /// <param name="probabilities">Receives their softmax probabilities over the whole row.</param>
    /// <param name="scratch">A buffer at least as long as <paramref name="row"/> (kept by the caller so a run allocates nothing).</param>
    public static void Select(ReadOnlySpan<float> row, Span<int> ids, Span<float> logits, Span<float> probabilities, Span<float> scratch)
    {
        var k = ids.Length;
        var filled = 0;
        var max = float.NegativeInfinity;
        for (var i = 0; i < row.Length; i++)
        {
            var v = row[i];
            if (v > max)
                max = v;
            if (filled == k && v <= logits[k - 1])
                continue;
            var j = filled < k ? filled++ : k - 1;
            while (j > 0 && logits[j - 1] < v)
            {
                logits[j] = logits[j - 1];
                ids[j] = ids[j - 1];
                j--;
            }
            logits[j] = v;
            ids[j] = i;
        }
        var shifted = scratch[..row.Length];
        TensorPrimitives.Subtract(row, max, shifted);
        TensorPrimitives.Exp(shifted, shifted);
        var sum = TensorPrimitives.Sum<float>(shifted);
        for (var j = 0; j < k; j++)
            probabilities[j] = MathF.Exp(logits[j] - max) / sum;
    }
}
