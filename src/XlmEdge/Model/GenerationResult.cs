using System.Text.Json;

namespace XlmEdge;

/// <summary>
/// How <see cref="XlmModel.Generate(string, string, int, SamplingOptions?)"/> picks each next token:
/// greedy (the most likely token) by default, or sampled from the softmax of the logits divided by
/// <see cref="Temperature"/>, restricted to the <see cref="TopK"/> most likely tokens and then to the
/// smallest set of them whose probability reaches <see cref="TopP"/> (Hugging Face's order).
/// </summary>
/// <remarks>
/// Sampling draws from XlmEdge's own generator (SplitMix64 seeded with <see cref="Seed"/>), so the
/// same model file, prompt, options and SIMD width give the same tokens on every run and machine.
/// Logits can differ in their last bits between SIMD widths, which can change a draw that falls
/// on a boundary.
/// </remarks>
public sealed record SamplingOptions
{
    /// <summary>Always the most likely token (lowest id on a tie).</summary>
    public static SamplingOptions Greedy { get; } = new();

    /// <summary>0 (the default) picks greedily; above 0, logits are divided by it before sampling.</summary>
    public float Temperature { get; init; }

    /// <summary>Sample among the k most likely tokens only; 0 (the default) keeps every token.</summary>
    public int TopK { get; init; }

    /// <summary>Sample among the most likely tokens whose probabilities add up to at least this (nucleus); 1 (the default) keeps every token.</summary>
    public float TopP { get; init; } = 1;

    /// <summary>Seed of the random generator; the same seed gives the same draws.</summary>
    public ulong Seed { get; init; }

    /// <summary>Whether the tokens are sampled (a temperature above 0) rather than picked greedily.</summary>
    public bool IsSampling => Temperature > 0;

    /// <summary>Checks every value is in its range (generation does so too), for callers that check options before they have a prompt.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of its range.</exception>
    public void Validate()
    {
        if (!(Temperature >= 0) || float.IsInfinity(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "temperature must be 0 (greedy) or a finite positive number");
        ArgumentOutOfRangeException.ThrowIfNegative(TopK, nameof(TopK));
        if (!(TopP > 0 && TopP <= 1))
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "top-p must be in (0, 1]");
    }
}

/// <summary>Why generation stopped.</summary>
public enum GenerationStopReason
{
    /// <summary>The model produced &lt;/s&gt;, the end of a sentence (it is the last generated id).</summary>
    EndOfSentence,
    /// <summary>The requested number of new tokens was reached.</summary>
    MaxTokens,
    /// <summary>
    /// The sequence filled the model's context (max_position_embeddings): the last new token is the
    /// prediction after the last position, which cannot be fed back.
    /// </summary>
    ContextFull,
}

/// <summary>The continuation a causal model generated for a prompt.</summary>
public sealed class GenerationResult
{
    internal GenerationResult(IReadOnlyList<int> promptIds, IReadOnlyList<int> generatedIds, IReadOnlyList<string> tokens,
        string text, string sequence, GenerationStopReason stopReason)
    {
        PromptIds = promptIds;
        GeneratedIds = generatedIds;
        Tokens = tokens;
        Text = text;
        Sequence = sequence;
        StopReason = stopReason;
    }

    /// <summary>The model input the generation continued: &lt;s&gt; and the prompt's token ids (no &lt;/s&gt;).</summary>
    public IReadOnlyList<int> PromptIds { get; }

    /// <summary>The new token ids, in order (the last is &lt;/s&gt; when <see cref="StopReason"/> is <see cref="GenerationStopReason.EndOfSentence"/>).</summary>
    public IReadOnlyList<int> GeneratedIds { get; }

    /// <summary>The new tokens as BPE units.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>The new tokens decoded for display.</summary>
    public string Text { get; }

    /// <summary>Prompt and continuation decoded together for display (the model's lowercased, tokenized form).</summary>
    public string Sequence { get; }

    /// <summary>Why generation stopped.</summary>
    public GenerationStopReason StopReason { get; }

    /// <summary>
    /// Writes the result as one JSON object, the shape of <c>xlmedge generate</c>'s JSON lines and of
    /// <c>xlmedge_generate_json</c>: <c>{"generated_text":"..","text":"..","input_ids":[...],"generated_ids":[...],
    /// "generated_tokens":[...],"stop_reason":"end_of_sentence"|"max_tokens"|"context_full"}</c>.
    /// <c>generated_text</c> is prompt and continuation (<see cref="Sequence"/>), as in Hugging Face's
    /// <c>pipeline("text-generation")</c>; <c>text</c> the continuation alone; <c>input_ids</c> the prompt's model input.
    /// </summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("generated_text", Sequence);
        writer.WriteString("text", Text);
        Json.WriteArray(writer, "input_ids", PromptIds);
        Json.WriteArray(writer, "generated_ids", GeneratedIds);
        Json.WriteArray(writer, "generated_tokens", Tokens);
        writer.WriteString("stop_reason", StopReason switch
        {
            GenerationStopReason.EndOfSentence => "end_of_sentence",
            GenerationStopReason.MaxTokens => "max_tokens",
            _ => "context_full",
        });
        writer.WriteEndObject();
    }

    /// <summary>The result as one line of JSON (<see cref="WriteTo"/>), non-ASCII text unescaped.</summary>
    public string ToJson() => Json.ToString(WriteTo);
}

/// <summary>How likely a causal model finds a text: its log-likelihood and perplexity.</summary>
public sealed class ScoreResult
{
    internal ScoreResult(IReadOnlyList<string> tokens, IReadOnlyList<int> inputIds, IReadOnlyList<double> tokenLogProbabilities)
    {
        Tokens = tokens;
        InputIds = inputIds;
        TokenLogProbabilities = tokenLogProbabilities;
        double sum = 0;
        foreach (double lp in tokenLogProbabilities)
            sum += lp;
        LogLikelihood = sum;
        Perplexity = Math.Exp(-sum / tokenLogProbabilities.Count);
    }

    /// <summary>The tokenizer's output (BPE units), without the &lt;s&gt; and &lt;/s&gt; framing.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>The model input: &lt;s&gt;, the token ids, &lt;/s&gt;.</summary>
    public IReadOnlyList<int> InputIds { get; }

    /// <summary>
    /// Natural-log probability of each predicted id given the ids before it: entry i is
    /// log P(InputIds[i + 1] | InputIds[0..i]), so every id after &lt;s&gt; is predicted, &lt;/s&gt; included.
    /// </summary>
    public IReadOnlyList<double> TokenLogProbabilities { get; }

    /// <summary>The sum of <see cref="TokenLogProbabilities"/> (natural log).</summary>
    public double LogLikelihood { get; }

    /// <summary>exp(-LogLikelihood / number of predicted ids); infinity when that overflows a double.</summary>
    public double Perplexity { get; }

    /// <summary>
    /// Writes the result as one JSON object, the shape of <c>xlmedge score</c>'s JSON lines and of
    /// <c>xlmedge_score_json</c>: <c>{"tokens":[...],"input_ids":[...],"token_log_probs":[...],
    /// "log_likelihood":l,"perplexity":p}</c> (natural logs; <c>token_log_probs[i]</c> is the log
    /// probability of <c>input_ids[i + 1]</c>). A perplexity too large for a double is written as <c>null</c>.
    /// </summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        Json.WriteArray(writer, "tokens", Tokens);
        Json.WriteArray(writer, "input_ids", InputIds);
        writer.WriteStartArray("token_log_probs");
        foreach (double lp in TokenLogProbabilities)
            writer.WriteNumberValue(lp);
        writer.WriteEndArray();
        writer.WriteNumber("log_likelihood", LogLikelihood);
        if (double.IsFinite(Perplexity))
            writer.WriteNumber("perplexity", Perplexity);
        else
            writer.WriteNull("perplexity");
        writer.WriteEndObject();
    }

    /// <summary>The result as one line of JSON (<see cref="WriteTo"/>), non-ASCII text unescaped.</summary>
    public string ToJson() => Json.ToString(WriteTo);
}
