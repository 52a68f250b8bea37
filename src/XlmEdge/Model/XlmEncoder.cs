using System.Runtime.CompilerServices;
using XlmEdge.Kernels;
using XlmEdge.Model.Generated;

namespace XlmEdge.Model;

/// <summary>
/// The XLM encoder (DESIGN.md section 2) over packed sentences: a batch is its sentences' token
/// rows back to back, with no padding, so every Linear runs once over all rows and attention
/// runs per sentence. Activations live in buffers owned here and reused across calls, so a call
/// allocates nothing once the buffers have grown to the largest batch seen. Not thread-safe: the
/// owning <see cref="XlmModel"/> serialises calls.
/// </summary>
/// <remarks>
/// The blocks run through an <see cref="IEncoderBlocks"/>: the source generator's forward when the
/// geometry equals a preset (src/XlmEdge/Model/Presets) and the blocks' weights are in panels, written
/// out with the preset's shapes as constants and instantiated once for the width and dtype
/// (<see cref="GeneratedKernels"/>); otherwise the generic loop over <see cref="RunBlock"/>.
/// </remarks>
internal sealed class XlmEncoder
{
    private readonly XlmGeometry _geometry;
    private readonly XlmWeights _weights;
    private readonly IEncoderBlocks _blocks;
    private readonly EncoderActivations _a = new();

    public XlmEncoder(XlmConfig config, XlmWeights weights, WorkerPool pool, bool useGenerated = true)
    {
        _geometry = config.Geometry;
        _weights = weights;
        _blocks = useGenerated && GeneratedForwards.TryCreate(config, weights, pool, out var generated)
            ? generated
            : new GenericEncoderBlocks(config, weights, pool);
        _a.EnsureCapacity(_geometry, _geometry.ContextLength);
    }

    /// <summary>The preset whose generated forward runs the blocks, or null on the generic path.</summary>
    public XlmPreset? GeneratedPreset => _blocks.Preset;

    /// <summary>The activation buffers, which <see cref="CausalDecoder"/> uses too (a model runs one or the other).</summary>
    internal EncoderActivations Activations => _a;

    /// <summary>
    /// Runs the encoder over sentences packed back to back: <paramref name="ids"/> holds every
    /// sentence's ids (with &lt;s&gt;/&lt;/s&gt;), <paramref name="lengths"/> their lengths and
    /// <paramref name="languageIds"/> their language ids. Returns the final hidden states
    /// [sum(lengths), d], valid until the next call.
    /// </summary>
    public ReadOnlySpan<float> Encode(ReadOnlySpan<int> ids, ReadOnlySpan<int> lengths, ReadOnlySpan<int> languageIds) =>
        Encode(ids, lengths, languageIds, default);

    /// <summary>
    /// <see cref="Encode(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{int})"/> for the final hidden states of
    /// the rows in <paramref name="keep"/> only (indices into <paramref name="ids"/>, strictly increasing; empty:
    /// every row), returned as [keep.Length, d] in that order. The last block finishes only those rows: after its
    /// attention, which needs every row's keys and values, each step works row by row, so a fill-mask call skips
    /// the output projection and the FFN of every token but its masks: three quarters of the last block's
    /// multiply-adds. Fill-mask at enfr-1024, one mask, the same build with and without, calls alternating in one
    /// process, 2 threads, AMD EPYC Zen 5: 1.035x at T = 16, 1.12x at 128, 1.14x at 512 (below T = 32 the skipped
    /// weights still stream from memory once, for the kept rows).
    /// </summary>
    public ReadOnlySpan<float> Encode(ReadOnlySpan<int> ids, ReadOnlySpan<int> lengths, ReadOnlySpan<int> languageIds, ReadOnlySpan<int> keep)
    {
        int d = _geometry.EmbeddingDimension;
        int tokens = ids.Length;
        RequireRows(keep, tokens);
        _a.EnsureCapacity(_geometry, tokens);

        var x = _a.X[..(tokens * d)];
        Embed(ids, lengths, languageIds, x);
        // x = LN_emb(E_word[ids] + E_pos + E_lang)
        LayerNorm.AddNormalize(x, default, tokens, d, _weights.EmbeddingNormWeight.Span, _weights.EmbeddingNormBias.Span, _geometry.LayerNormEpsilon);

        _blocks.Run(_a, tokens, lengths, keep);
        return _a.X[..((keep.IsEmpty ? tokens : keep.Length) * d)];
    }

    private static void RequireRows(ReadOnlySpan<int> keep, int tokens)
    {
        for (int m = 0; m < keep.Length; m++)
        {
            if (keep[m] < m || keep[m] >= tokens || (m > 0 && keep[m] <= keep[m - 1]))
                throw new ArgumentException($"the rows to keep must be strictly increasing indices below {tokens}; row {m} is {keep[m]}", nameof(keep));
        }
    }

    /// <summary>
    /// Moves the rows in <paramref name="keep"/> of the residual stream and of the attention output to the front,
    /// in order, and returns how many rows go on (<paramref name="tokens"/> when <paramref name="keep"/> is empty).
    /// In place: the rows are strictly increasing, so row keep[m] &gt;= m is read before anything overwrites it.
    /// </summary>
    internal static int KeepRows(EncoderActivations a, int tokens, ReadOnlySpan<int> keep, int d)
    {
        if (keep.IsEmpty)
            return tokens;
        var x = a.X;
        var attention = a.Attention;
        for (int m = 0; m < keep.Length; m++)
        {
            int r = keep[m];
            if (r == m)
                continue;
            x.Slice(r * d, d).CopyTo(x.Slice(m * d, d));
            attention.Slice(r * d, d).CopyTo(attention.Slice(m * d, d));
        }
        return keep.Length;
    }

    private void Embed(ReadOnlySpan<int> ids, ReadOnlySpan<int> lengths, ReadOnlySpan<int> languageIds, Span<float> x)
    {
        int d = _geometry.EmbeddingDimension;
        int t = 0;
        for (int s = 0; s < lengths.Length; s++)
        {
            EmbedSentence(_weights, ids.Slice(t, lengths[s]), 0, languageIds[s], x.Slice(t * d, lengths[s] * d), _a.Row[..d]);
            t += lengths[s];
        }
    }

    /// <summary>
    /// x[t] = E_word[ids[t]] + E_pos[firstPosition + t] + E_lang[languageId] (the language term only when
    /// the model has one) for the rows of one sentence; row is a d-float scratch.
    /// </summary>
    internal static void EmbedSentence(XlmWeights weights, ReadOnlySpan<int> ids, int firstPosition, int languageId, Span<float> x, Span<float> row)
    {
        int d = row.Length;
        for (int t = 0; t < ids.Length; t++)
        {
            var xt = x.Slice(t * d, d);
            weights.WordEmbeddings.CopyRow(ids[t], xt);
            weights.PositionEmbeddings.AddRow(firstPosition + t, xt, row);
            weights.LanguageEmbeddings?.AddRow(languageId, xt, row);
        }
    }

    /// <summary>
    /// One post-norm block over the residual stream <see cref="EncoderActivations.X"/>. Inlined into
    /// each caller, so the generated forwards' constant geometry reaches the span arithmetic here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void RunBlock(EncoderActivations a, WorkerPool pool, XlmBlock b, int tokens, ReadOnlySpan<int> lengths,
        ReadOnlySpan<int> keep, int d, int heads, int headDim, int ffnDim, float eps)
    {
        var x = a.X[..(tokens * d)];
        var q = a.Q[..(tokens * d)];
        var k = a.K[..(tokens * d)];
        var v = a.V[..(tokens * d)];
        var attention = a.Attention[..(tokens * d)];

        // q, k, v projections for every token of every sentence at once
        WeightMatrix.Linear(pool, x, tokens, b.Query, b.QueryBias.Span, q, b.Key, b.KeyBias.Span, k, b.Value, b.ValueBias.Span, v);

        // attention never crosses a sentence boundary
        int start = 0;
        foreach (int n in lengths)
        {
            var rows = new Range(start * d, (start + n) * d);
            Attention.SelfAttention(pool, q[rows], k[rows], v[rows], n, heads, headDim, attention[rows]);
            start += n;
        }

        FinishBlock(a, pool, b, KeepRows(a, tokens, keep, d), d, ffnDim, eps);
    }

    /// <summary>
    /// The block after attention, from <see cref="EncoderActivations.Attention"/> to the new residual
    /// stream in <see cref="EncoderActivations.X"/>; shared with <see cref="CausalDecoder"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void FinishBlock(EncoderActivations a, WorkerPool pool, XlmBlock b, int tokens, int d, int ffnDim, float eps)
    {
        var x = a.X[..(tokens * d)];
        var y = a.Y[..(tokens * d)];
        var attention = a.Attention[..(tokens * d)];

        // x = LN1(x + attention Wo^T + bo)
        b.Output.Linear(pool, attention, tokens, b.OutputBias.Span, y);
        LayerNorm.AddNormalize(pool, y, x, tokens, d, b.Norm1Weight.Span, b.Norm1Bias.Span, eps);

        // x = LN2(x + GELU(x W1^T + b1) W2^T + b2)
        var ffn = a.FeedForward[..(tokens * ffnDim)];
        b.FeedForward1.Linear(pool, y, tokens, b.FeedForward1Bias.Span, ffn, Activation.Gelu);
        b.FeedForward2.Linear(pool, ffn, tokens, b.FeedForward2Bias.Span, x);
        LayerNorm.AddNormalize(pool, x, y, tokens, d, b.Norm2Weight.Span, b.Norm2Bias.Span, eps);
    }
}

/// <summary>
/// The encoder's activations, in one pinned arena planned from the geometry: [X | Y | Q | K | V | Attention]
/// for the token capacity, and the feed-forward hidden layer over Q .. Attention, which are dead by the time
/// it is written (a block reads q, k, v in attention and attention in the output projection; the FFN starts
/// after LayerNorm 1). That keeps 6·T·d floats where separate buffers took 10·T·d: 8 MB less at T = 512,
/// d = 1024, which is most of what a long call adds to the mapped model's resident size.
/// </summary>
internal sealed class EncoderActivations
{
    private float[] _arena = [];
    private int _tokenCapacity, _d, _ffn;

    /// <summary>[T, d] hidden states (the residual stream).</summary>
    public Span<float> X => Region(0, _d);

    /// <summary>[T, d] block output before it becomes the residual stream.</summary>
    public Span<float> Y => Region(1, _d);

    /// <summary>[T, d] queries.</summary>
    public Span<float> Q => Region(2, _d);

    /// <summary>[T, d] keys.</summary>
    public Span<float> K => Region(3, _d);

    /// <summary>[T, d] values.</summary>
    public Span<float> V => Region(4, _d);

    /// <summary>[T, d] attention output, the input of the output projection.</summary>
    public Span<float> Attention => Region(5, _d);

    /// <summary>[T, ffn] the feed-forward hidden layer: the same memory as Q .. Attention.</summary>
    public Span<float> FeedForward => Region(2, _ffn);

    /// <summary>[d] one embedding row in fp32, after the token regions.</summary>
    public Span<float> Row => _arena.AsSpan(_arena.Length - _d, _d);

    public void EnsureCapacity(XlmGeometry geometry, int tokens)
    {
        if (tokens <= _tokenCapacity)
            return;
        _tokenCapacity = tokens;
        _d = geometry.EmbeddingDimension;
        _ffn = geometry.FeedForwardDimension;
        long length = (2L * _d + Math.Max(4L * _d, _ffn)) * tokens + _d;
        _arena = GC.AllocateUninitializedArray<float>(checked((int)length), pinned: true);
    }

    /// <summary>The region starting at row-block <paramref name="slot"/> (slot·capacity·d floats in), capacity·width floats long.</summary>
    private Span<float> Region(int slot, int width) => _arena.AsSpan(slot * _tokenCapacity * _d, _tokenCapacity * width);
}

/// <summary>The encoder's stack of blocks: a generated, unrolled forward or <see cref="GenericEncoderBlocks"/>.</summary>
internal interface IEncoderBlocks
{
    /// <summary>The preset this forward was generated for; null for the generic loop.</summary>
    XlmPreset? Preset { get; }

    /// <summary>
    /// Runs every block over the first <paramref name="tokens"/> rows of <see cref="EncoderActivations.X"/>, in place;
    /// the last block, after attention, only over the rows in <paramref name="keep"/> (<see cref="XlmEncoder.KeepRows"/>),
    /// which end at the front of X.
    /// </summary>
    void Run(EncoderActivations a, int tokens, ReadOnlySpan<int> lengths, ReadOnlySpan<int> keep);
}

/// <summary>
/// The instantiation a generated forward runs (<c>XlmEdge.Model.Generated.*Forward&lt;TS, TVec, TW&gt;</c>):
/// the SIMD width and the blocks' weight dtype, decided once at load, so no call, block or row switches on them.
/// </summary>
internal enum GeneratedKernels
{
    /// <summary>No generated forward: the scalar path, or blocks not in one-dtype panels (files packed before the layout).</summary>
    None,
    Vector128Half,
    Vector128Single,
    Vector256Half,
    Vector256Single,
    Vector512Half,
    Vector512Single,
}

/// <summary>Picks <see cref="GeneratedKernels"/> for loaded weights.</summary>
internal static class GeneratedKernelsChoice
{
    public static GeneratedKernels For(XlmWeights weights, SimdPath path)
    {
        if (!weights.BlocksInPanels(out bool half))
            return GeneratedKernels.None;
        return path switch
        {
            SimdPath.Vector512 => half ? GeneratedKernels.Vector512Half : GeneratedKernels.Vector512Single,
            SimdPath.Vector256 => half ? GeneratedKernels.Vector256Half : GeneratedKernels.Vector256Single,
            SimdPath.Vector128 => half ? GeneratedKernels.Vector128Half : GeneratedKernels.Vector128Single,
            _ => GeneratedKernels.None,
        };
    }
}

/// <summary>Any geometry: loops over the blocks with the sizes read from the model file.</summary>
internal sealed class GenericEncoderBlocks(XlmConfig config, XlmWeights weights, WorkerPool pool) : IEncoderBlocks
{
    public XlmPreset? Preset => null;

    public void Run(EncoderActivations a, int tokens, ReadOnlySpan<int> lengths, ReadOnlySpan<int> keep)
    {
        var g = config.Geometry;
        var blocks = weights.Blocks;
        for (int i = 0; i < blocks.Length; i++)
        {
            XlmEncoder.RunBlock(a, pool, blocks[i], tokens, lengths, i == blocks.Length - 1 ? keep : default, g.EmbeddingDimension, g.Heads,
                g.HeadDimension, g.FeedForwardDimension, g.LayerNormEpsilon);
        }
    }
}
