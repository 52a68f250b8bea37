using XlmEdge.Kernels;

namespace XlmEdge.Model;

/// <summary>
/// The XLM encoder (DESIGN.md section 2) over packed sentences: a batch is its sentences' token
/// rows back to back, with no padding, so every Linear runs once over all rows and attention
/// runs per sentence. Activations live in buffers owned here and reused across calls, so a call
/// allocates nothing once the buffers have grown to the largest batch seen. Not thread-safe: the
/// owning <see cref="XlmModel"/> serialises calls.
/// </summary>
internal sealed class XlmEncoder
{
    private readonly XlmConfig _config;
    private readonly XlmWeights _weights;
    private readonly WorkerPool _pool;

    private int _tokenCapacity;
    private int _sentenceCapacity;
    private float[] _x = [];        // [T, d] hidden states (the residual stream)
    private float[] _y = [];        // [T, d] block output before it becomes the residual stream
    private float[] _q = [], _k = [], _v = [], _attention = [];   // [T, d]
    private float[] _ffn = [];      // [T, ffn]
    private float[] _attentionScratch = [];
    private float[] _row = [];      // [d] one embedding row in fp32

    public XlmEncoder(XlmConfig config, XlmWeights weights, WorkerPool pool)
    {
        _config = config;
        _weights = weights;
        _pool = pool;
        EnsureCapacity(config.ContextLength, config.ContextLength);
    }

    /// <summary>
    /// Runs the encoder over sentences packed back to back: <paramref name="ids"/> holds every
    /// sentence's ids (with &lt;s&gt;/&lt;/s&gt;), <paramref name="lengths"/> their lengths and
    /// <paramref name="languageIds"/> their language ids. Returns the final hidden states
    /// [sum(lengths), d], valid until the next call.
    /// </summary>
    public ReadOnlySpan<float> Encode(ReadOnlySpan<int> ids, ReadOnlySpan<int> lengths, ReadOnlySpan<int> languageIds)
    {
        int d = _config.EmbeddingDimension;
        int tokens = ids.Length;
        int longest = 0;
        foreach (int n in lengths)
            longest = Math.Max(longest, n);
        EnsureCapacity(tokens, longest);

        var x = _x.AsSpan(0, tokens * d);
        Embed(ids, lengths, languageIds, x);
        // x = LN_emb(E_word[ids] + E_pos + E_lang)
        LayerNorm.AddNormalize(x, default, tokens, d, _weights.EmbeddingNormWeight.Span, _weights.EmbeddingNormBias.Span, _config.LayerNormEpsilon);

        foreach (var block in _weights.Blocks)
            RunBlock(block, tokens, lengths);
        return _x.AsSpan(0, tokens * d);
    }

    private void Embed(ReadOnlySpan<int> ids, ReadOnlySpan<int> lengths, ReadOnlySpan<int> languageIds, Span<float> x)
    {
        int d = _config.EmbeddingDimension;
        var row = _row.AsSpan(0, d);
        int t = 0;
        for (int s = 0; s < lengths.Length; s++)
        {
            for (int p = 0; p < lengths[s]; p++, t++)
            {
                var xt = x.Slice(t * d, d);
                _weights.WordEmbeddings.CopyRow(ids[t], xt);
                _weights.PositionEmbeddings.AddRow(p, xt, row);
                _weights.LanguageEmbeddings?.AddRow(languageIds[s], xt, row);
            }
        }
    }

    private void RunBlock(XlmBlock b, int tokens, ReadOnlySpan<int> lengths)
    {
        int d = _config.EmbeddingDimension;
        int heads = _config.Heads;
        var x = _x.AsSpan(0, tokens * d);
        var y = _y.AsSpan(0, tokens * d);
        var q = _q.AsSpan(0, tokens * d);
        var k = _k.AsSpan(0, tokens * d);
        var v = _v.AsSpan(0, tokens * d);
        var attention = _attention.AsSpan(0, tokens * d);
        float eps = _config.LayerNormEpsilon;

        // q, k, v projections for every token of every sentence at once
        b.Query.Linear(_pool, x, tokens, b.QueryBias.Span, q);
        b.Key.Linear(_pool, x, tokens, b.KeyBias.Span, k);
        b.Value.Linear(_pool, x, tokens, b.ValueBias.Span, v);

        // attention never crosses a sentence boundary
        int start = 0;
        foreach (int n in lengths)
        {
            var rows = new Range(start * d, (start + n) * d);
            Attention.SelfAttention(_pool, q[rows], k[rows], v[rows], n, heads, _config.HeadDimension, attention[rows],
                _attentionScratch.AsSpan(0, Attention.ScratchLength(n, heads)));
            start += n;
        }

        // x = LN1(x + attention Wo^T + bo)
        b.Output.Linear(_pool, attention, tokens, b.OutputBias.Span, y);
        LayerNorm.AddNormalize(y, x, tokens, d, b.Norm1Weight.Span, b.Norm1Bias.Span, eps);

        // x = LN2(x + GELU(x W1^T + b1) W2^T + b2)
        var ffn = _ffn.AsSpan(0, tokens * _config.FeedForwardDimension);
        b.FeedForward1.Linear(_pool, y, tokens, b.FeedForward1Bias.Span, ffn, Activation.Gelu);
        b.FeedForward2.Linear(_pool, ffn, tokens, b.FeedForward2Bias.Span, x);
        LayerNorm.AddNormalize(x, y, tokens, d, b.Norm2Weight.Span, b.Norm2Bias.Span, eps);
    }

    private void EnsureCapacity(int tokens, int longestSentence)
    {
        int d = _config.EmbeddingDimension;
        if (tokens > _tokenCapacity)
        {
            _tokenCapacity = tokens;
            _x = Allocate(tokens * d);
            _y = Allocate(tokens * d);
            _q = Allocate(tokens * d);
            _k = Allocate(tokens * d);
            _v = Allocate(tokens * d);
            _attention = Allocate(tokens * d);
            _ffn = Allocate(tokens * _config.FeedForwardDimension);
            _row = Allocate(d);
        }
        if (longestSentence > _sentenceCapacity)
        {
            _sentenceCapacity = longestSentence;
            _attentionScratch = Allocate(Attention.ScratchLength(longestSentence, _config.Heads));
        }
    }

    private static float[] Allocate(int length) => GC.AllocateUninitializedArray<float>(length, pinned: true);
}
