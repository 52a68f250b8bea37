namespace XlmEdge;

/// <summary>One text to fill, with its language code ("en", "fr", ...).</summary>
/// <param name="Text">Text containing one or more mask tokens (&lt;special1&gt; for the enfr checkpoints).</param>
/// <param name="Language">Language code, one of <see cref="XlmConfig.Languages"/>.</param>
public sealed record FillMaskInput(string Text, string Language);

/// <summary>The predictions for every mask of one input, shaped like Hugging Face's fill-mask pipeline.</summary>
public sealed class FillMaskResult
{
    internal FillMaskResult(IReadOnlyList<string> tokens, IReadOnlyList<int> inputIds, IReadOnlyList<MaskPrediction> masks)
    {
        Tokens = tokens;
        InputIds = inputIds;
        Masks = masks;
    }

    /// <summary>The tokenizer's output (BPE units), without the &lt;s&gt; and &lt;/s&gt; framing.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>The model input: &lt;s&gt;, the token ids, &lt;/s&gt;.</summary>
    public IReadOnlyList<int> InputIds { get; }

    /// <summary>One entry per mask, in input order.</summary>
    public IReadOnlyList<MaskPrediction> Masks { get; }
}

/// <summary>The candidates for one mask.</summary>
public sealed class MaskPrediction
{
    internal MaskPrediction(int position, IReadOnlyList<FillMaskCandidate> candidates)
    {
        Position = position;
        Candidates = candidates;
    }

    /// <summary>Index of the mask in <see cref="FillMaskResult.InputIds"/>.</summary>
    public int Position { get; }

    /// <summary>The most probable tokens, most probable first.</summary>
    public IReadOnlyList<FillMaskCandidate> Candidates { get; }
}

/// <summary>One candidate token for a mask.</summary>
/// <param name="Id">Vocabulary id.</param>
/// <param name="Token">The BPE unit (a trailing &lt;/w&gt; ends a word).</param>
/// <param name="Probability">Softmax over the whole vocabulary.</param>
/// <param name="Logit">The raw output-layer score.</param>
/// <param name="Sequence">The input with this candidate in the mask's place, decoded for display.</param>
public sealed record FillMaskCandidate(int Id, string Token, double Probability, float Logit, string Sequence);

/// <summary>Final hidden states of one text.</summary>
public sealed class EncodedText
{
    internal EncodedText(IReadOnlyList<int> inputIds, int dimension, float[] hiddenStates)
    {
        InputIds = inputIds;
        Dimension = dimension;
        HiddenStates = hiddenStates;
    }

    /// <summary>The model input: &lt;s&gt;, the token ids, &lt;/s&gt;.</summary>
    public IReadOnlyList<int> InputIds { get; }

    /// <summary>Width of one hidden state.</summary>
    public int Dimension { get; }

    /// <summary>Row-major [InputIds.Count, Dimension]: the output of the last block.</summary>
    public float[] HiddenStates { get; }
}
