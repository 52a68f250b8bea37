using System.Numerics.Tensors;
using XlmEdge.Kernels;
using XlmEdge.Model;

namespace XlmEdge;

/// <summary>The causal language model surface: next-token logits, generation, scoring.</summary>
public sealed partial class XlmModel
{
    /// <summary>Logit rows computed at once when every position needs its row (scoring, tests).</summary>
    private const int LogitRowsPerPass = 16;

    private CausalDecoder? _decoder;
    private float[] _stepLogits = [];

    /// <summary>
    /// Whether this is a causal language model (an xlm-clm-* checkpoint): it predicts each next
    /// token from the ones before it, so it generates and scores text and cannot fill masks.
    /// Masked language models (xlm-mlm-*) fill masks and cannot generate.
    /// </summary>
    public bool IsCausal => Config.Geometry.IsCausal;

    /// <summary>
    /// The logits [vocabulary size] of the token that would follow <paramref name="text"/>: the model
    /// input is &lt;s&gt; and the text's token ids, without the closing &lt;/s&gt;.
    /// </summary>
    /// <exception cref="InvalidInputException">Not a causal model, unknown language, or more tokens than the context.</exception>
    public float[] NextTokenLogits(string text, string language)
    {
        var prompt = PromptOf(text, language);
        var logits = new float[Config.Geometry.VocabularySize];
        NextTokenLogits(prompt.Ids, prompt.LanguageId, logits);
        return logits;
    }

    /// <summary>
    /// Writes the logits of the token that follows <paramref name="inputIds"/> (framed as the caller
    /// chooses, usually starting with &lt;s&gt;) into <paramref name="logits"/>; allocates nothing after the first call.
    /// </summary>
    /// <exception cref="InvalidInputException">Not a causal model, a bad id or language, or more ids than the context.</exception>
    public void NextTokenLogits(ReadOnlySpan<int> inputIds, int languageId, Span<float> logits)
    {
        RequireCausal("compute next-token logits");
        CheckIds(inputIds, 0);
        CheckLanguage(languageId);
        if (logits.Length < Config.Geometry.VocabularySize)
            throw new ArgumentException($"logits needs {Config.Geometry.VocabularySize} floats", nameof(logits));
        lock (_gate)
        {
            var decoder = Decoder();
            decoder.Reset();
            var hidden = decoder.Append(inputIds, languageId);
            ProjectLast(hidden, inputIds.Length).CopyTo(logits);
        }
    }

    /// <summary>
    /// Continues <paramref name="prompt"/> with up to <paramref name="maxTokens"/> new tokens, each one
    /// computed from the cached keys and values of everything before it (one position per step).
    /// The model input starts as &lt;s&gt; and the prompt's token ids (no &lt;/s&gt;: the text goes on);
    /// generation stops early when the model writes &lt;/s&gt; or the context is full.
    /// </summary>
    /// <param name="prompt">The text to continue.</param>
    /// <param name="language">Its language code, one of <see cref="XlmConfig.Languages"/>; the new tokens get the same language.</param>
    /// <param name="maxTokens">Most new tokens to generate (at least 1).</param>
    /// <param name="sampling">Greedy when null; see <see cref="SamplingOptions"/>.</param>
    /// <exception cref="InvalidInputException">Not a causal model, unknown language, or a prompt longer than the context.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxTokens"/> or a sampling option is out of range.</exception>
    public GenerationResult Generate(string prompt, string language, int maxTokens, SamplingOptions? sampling = null)
    {
        var encoded = PromptOf(prompt, language);
        return GenerateIds(encoded.Ids, encoded.LanguageId, maxTokens, sampling);
    }

    /// <summary><see cref="Generate(string, string, int, SamplingOptions?)"/> from model input ids the caller framed.</summary>
    public GenerationResult GenerateIds(ReadOnlySpan<int> promptIds, int languageId, int maxTokens, SamplingOptions? sampling = null)
    {
        RequireCausal("generate text");
        CheckIds(promptIds, 0);
        CheckLanguage(languageId);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        var sampler = new TokenSampler(sampling ?? SamplingOptions.Greedy);
        int[] promptCopy = promptIds.ToArray();
        var generated = new List<int>();
        var stop = GenerationStopReason.MaxTokens;
        lock (_gate)
        {
            var decoder = Decoder();
            decoder.Reset();
            var hidden = decoder.Append(promptCopy, languageId);
            var logits = ProjectLast(hidden, promptCopy.Length);
            Span<int> next = [0];
            while (true)
            {
                next[0] = sampler.Next(logits);
                generated.Add(next[0]);
                if (next[0] == Tokenizer.EosId)
                {
                    stop = GenerationStopReason.EndOfSentence;
                    break;
                }
                if (generated.Count == maxTokens)
                    break;
                if (decoder.Length == Config.Geometry.ContextLength)
                {
                    stop = GenerationStopReason.ContextFull;
                    break;
                }
                logits = ProjectLast(decoder.Append(next, languageId), 1);
            }
        }
        int[] all = [.. promptCopy, .. generated];
        return new GenerationResult(promptCopy, generated, generated.ConvertAll(Tokenizer.TokenOf),
            Tokenizer.Decode(generated.ToArray()), Tokenizer.Decode(all), stop);
    }

    /// <summary>
    /// The log-likelihood and perplexity of <paramref name="text"/>: the model input is &lt;s&gt;, the
    /// text's token ids and &lt;/s&gt;, and every id after &lt;s&gt; is predicted from the ids before it.
    /// </summary>
    /// <exception cref="InvalidInputException">Not a causal model, unknown language, or more tokens than the context.</exception>
    public ScoreResult Score(string text, string language)
    {
        var tokenized = Tokenizer.Encode(text, language);
        return Score(tokenized.Tokens, [.. tokenized.Ids], tokenized.LanguageId);
    }

    /// <summary><see cref="Score(string, string)"/> on model input ids the caller framed (at least two ids).</summary>
    public ScoreResult ScoreIds(ReadOnlySpan<int> inputIds, int languageId)
    {
        int[] ids = inputIds.ToArray();
        return Score(TokensOf(ids), ids, languageId);
    }

    private ScoreResult Score(IReadOnlyList<string> tokens, int[] ids, int languageId)
    {
        RequireCausal("score text");
        CheckIds(ids, 0);
        CheckLanguage(languageId);
        if (ids.Length < 2)
            throw new InvalidInputException("scoring needs at least two ids: the first is never predicted");
        var logProbabilities = new double[ids.Length - 1];
        lock (_gate)
        {
            ForEachLogitRow(ids, languageId, ids.Length - 1, (p, row) =>
            {
                CheckFinite(row, $"after position {p}");
                logProbabilities[p] = (double)row[ids[p + 1]] - Softmax.LogSumExp(row);
            });
        }
        return new ScoreResult(tokens, ids, logProbabilities);
    }

    /// <summary>The logits at every position of <paramref name="ids"/> (row p follows ids[0..p]), for tests and diagnostics.</summary>
    internal float[][] AllLogits(int[] ids, int languageId)
    {
        RequireCausal("compute next-token logits");
        CheckIds(ids, 0);
        CheckLanguage(languageId);
        var rows = new float[ids.Length][];
        lock (_gate)
            ForEachLogitRow(ids, languageId, ids.Length, (p, row) => rows[p] = row.ToArray());
        return rows;
    }

    /// <summary>
    /// The logit rows of positions prefix-1 .. ids.Length-1 the way generation computes them: the first
    /// <paramref name="prefix"/> ids in one pass, then each later id as one cached step (tests compare
    /// these with <see cref="AllLogits"/>, the whole sequence at once).
    /// </summary>
    internal float[][] CachedStepLogits(int[] ids, int languageId, int prefix)
    {
        RequireCausal("compute next-token logits");
        CheckIds(ids, 0);
        CheckLanguage(languageId);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefix, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefix, ids.Length);
        var rows = new float[ids.Length - prefix + 1][];
        lock (_gate)
        {
            var decoder = Decoder();
            decoder.Reset();
            rows[0] = ProjectLast(decoder.Append(ids.AsSpan(0, prefix), languageId), prefix).ToArray();
            for (int p = prefix; p < ids.Length; p++)
                rows[p - prefix + 1] = ProjectLast(decoder.Append(ids.AsSpan(p, 1), languageId), 1).ToArray();
        }
        return rows;
    }

    private delegate void LogitRowAction(int position, ReadOnlySpan<float> logits);

    /// <summary>Runs the whole sequence, then hands the logit rows of positions 0..count-1 to <paramref name="action"/>, a few rows per output-layer pass. Caller holds the lock.</summary>
    private void ForEachLogitRow(int[] ids, int languageId, int count, LogitRowAction action)
    {
        var decoder = Decoder();
        decoder.Reset();
        var hidden = decoder.Append(ids, languageId);
        int d = Config.Geometry.EmbeddingDimension, v = Config.Geometry.VocabularySize;
        Grow(ref _logits, LogitRowsPerPass * v);
        for (int first = 0; first < count; first += LogitRowsPerPass)
        {
            int rows = Math.Min(LogitRowsPerPass, count - first);
            var logits = _logits.AsSpan(0, rows * v);
            _weights.WordEmbeddings.Linear(Cpu.Pool, hidden.Slice(first * d, rows * d), rows, _weights.OutputBias.Span, logits);
            for (int r = 0; r < rows; r++)
                action(first + r, logits.Slice(r * v, v));
        }
    }

    /// <summary>
    /// logits[V] = hidden[rows - 1] E^T + b: the next-token row of the last position, checked finite
    /// (generation would otherwise sample from NaNs). Caller holds the lock.
    /// </summary>
    private ReadOnlySpan<float> ProjectLast(scoped ReadOnlySpan<float> hidden, int rows)
    {
        int d = Config.Geometry.EmbeddingDimension;
        Grow(ref _stepLogits, Config.Geometry.VocabularySize);
        var logits = _stepLogits.AsSpan(0, Config.Geometry.VocabularySize);
        _weights.WordEmbeddings.Linear(Cpu.Pool, hidden.Slice((rows - 1) * d, d), 1, _weights.OutputBias.Span, logits);
        CheckFinite(logits, $"after position {_decoder!.Length - 1}");
        return logits;
    }

    /// <summary>
    /// A NaN or infinite weight (the weights tool refuses them, but a file can be changed after
    /// packing) spreads to every logit; ranking or sampling NaNs would answer nonsense. One
    /// <see cref="ModelFileException"/> instead, the same for fill-mask, generation and scoring.
    /// MaxMagnitude returns NaN if any element is NaN and infinity if any is infinite.
    /// </summary>
    private static void CheckFinite(ReadOnlySpan<float> logits, string where)
    {
        if (!float.IsFinite(TensorPrimitives.MaxMagnitude(logits)))
            throw new ModelFileException(
                $"the model produced non-finite logits (NaN or infinity) {where}; its weights may hold NaN or infinite values");
    }

    private CausalDecoder Decoder()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _decoder ??= new CausalDecoder(Config.Geometry, _weights, Cpu.Pool, Cpu.Activations);
    }

    /// <summary>&lt;s&gt; and the text's ids, without the closing &lt;/s&gt;: a prefix to continue.</summary>
    private (int[] Ids, int LanguageId) PromptOf(string text, string language)
    {
        var tokenized = Tokenizer.Encode(text, language);
        return ([.. tokenized.Ids.Take(tokenized.Ids.Count - 1)], tokenized.LanguageId);
    }

    private void RequireCausal(string what)
    {
        if (!Config.Geometry.IsCausal)
            throw new InvalidInputException(
                $"this is a masked language model (xlm-mlm-*): it fills masks and cannot {what}; that needs a causal model (xlm-clm-*)");
    }

    private void RequireMasked()
    {
        if (Config.Geometry.IsCausal)
            throw new InvalidInputException(
                "this is a causal language model (xlm-clm-*): it predicts the next token and cannot fill masks; use generate or score");
    }
}
