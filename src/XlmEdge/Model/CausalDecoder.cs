using XlmEdge.Kernels;

namespace XlmEdge.Model;

/// <summary>
/// The forward pass of a causal (xlm-clm-*) model over one growing sequence with a key/value
/// cache: each <see cref="Append"/> runs new positions through every block, writes their keys
/// and values after the cached ones, and lets each new position attend to every position up to
/// itself. A generation step therefore costs one position, not a recompute of the prefix.
/// </summary>
/// <remarks>
/// The blocks are the encoder's (<see cref="XlmEncoder.EmbedSentence"/>, the fused q/k/v projection,
/// <see cref="XlmEncoder.FinishBlock"/>), with <see cref="CausalAttention"/> in place of the
/// sentence-wide attention, on the encoder's activation buffers. The cache holds keys and values
/// of every layer in fp32, 2·layers·context·d floats (25 MB at clm-enfr-1024), allocated on the
/// first call. Not thread-safe: the owning <see cref="XlmModel"/> serialises calls.
/// </remarks>
internal sealed class CausalDecoder(XlmGeometry geometry, XlmWeights weights, WorkerPool pool, EncoderActivations activations)
{
    private float[][] _keys = [], _values = [];

    /// <summary>Positions in the cache: the next <see cref="Append"/> starts at this position.</summary>
    public int Length { get; private set; }

    /// <summary>Forgets the cached sequence.</summary>
    public void Reset() => Length = 0;

    /// <summary>
    /// Runs <paramref name="ids"/> at positions <see cref="Length"/> onwards, every one with language
    /// <paramref name="languageId"/>, and caches them. Returns their final hidden states [ids.Length, d],
    /// valid until the next call.
    /// </summary>
    /// <exception cref="InvalidInputException">The sequence would outgrow the model's context.</exception>
    public ReadOnlySpan<float> Append(scoped ReadOnlySpan<int> ids, int languageId)
    {
        int n = ids.Length, start = Length;
        if (start + n > geometry.ContextLength)
            throw new InvalidInputException(
                $"the sequence would be {start + n} tokens long; the model takes at most {geometry.ContextLength} tokens, <s> included");
        int d = geometry.EmbeddingDimension;
        EnsureCache();
        var a = activations;
        a.EnsureCapacity(geometry, n);
        var x = a.X[..(n * d)];
        var q = a.Q[..(n * d)];
        var attention = a.Attention[..(n * d)];

        // x = LN_emb(E_word[ids] + E_pos[start..] + E_lang)
        XlmEncoder.EmbedSentence(weights, ids, start, languageId, x, a.Row[..d]);
        LayerNorm.AddNormalize(x, default, n, d, weights.EmbeddingNormWeight.Span, weights.EmbeddingNormBias.Span, geometry.LayerNormEpsilon);

        for (int layer = 0; layer < weights.Blocks.Length; layer++)
        {
            var b = weights.Blocks[layer];
            var keys = _keys[layer].AsSpan(0, (start + n) * d);
            var values = _values[layer].AsSpan(0, (start + n) * d);

            // q for the new positions; their k and v straight into the cache, after the past
            WeightMatrix.Linear(pool, x, n, b.Query, b.QueryBias.Span, q,
                b.Key, b.KeyBias.Span, keys[(start * d)..], b.Value, b.ValueBias.Span, values[(start * d)..]);

            // position start+i attends positions 0..start+i
            CausalAttention.Forward(pool, q, keys, values, start, n, geometry.Heads, geometry.HeadDimension, attention);

            XlmEncoder.FinishBlock(a, pool, b, n, d, geometry.FeedForwardDimension, geometry.LayerNormEpsilon);
        }
        Length = start + n;
        return a.X[..(n * d)];
    }

    private void EnsureCache()
    {
        if (_keys.Length != 0)
            return;
        int layers = weights.Blocks.Length, size = geometry.ContextLength * geometry.EmbeddingDimension;
        _keys = new float[layers][];
        _values = new float[layers][];
        for (int i = 0; i < layers; i++)
        {
            _keys[i] = GC.AllocateUninitializedArray<float>(size, pinned: true);
            _values[i] = GC.AllocateUninitializedArray<float>(size, pinned: true);
        }
    }
}
