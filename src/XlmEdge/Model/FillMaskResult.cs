using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace XlmEdge;

/// <summary>One text to fill, with its language code ("en", "fr", ...).</summary>
/// <param name="Text">Text containing one or more mask tokens (&lt;special1&gt; for the enfr checkpoints).</param>
/// <param name="Language">Language code, one of <see cref="XlmConfig.Languages"/>.</param>
public sealed record FillMaskInput(string Text, string Language)
{
    /// <summary>
    /// When set, only these words are scored at each mask (Hugging Face's <c>targets</c>): each is
    /// tokenized in <see cref="Language"/> and its first BPE unit is the candidate, as the pipeline
    /// does. Scores stay the softmax over the whole vocabulary; duplicates count once.
    /// </summary>
    public IReadOnlyList<string>? Targets { get; init; }
}

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

    /// <summary>
    /// Writes the result as one JSON object, the shape of <c>xlmedge fill-mask</c>'s JSON lines and of
    /// <c>xlmedge_fill_mask_json</c>: <c>{"tokens":[...],"input_ids":[...],"masks":[{"position":P,"candidates":[
    /// {"score":p,"token":id,"token_str":"..","sequence":"..","logit":l}]}]}</c>, with the candidates' names
    /// as in Hugging Face's <c>pipeline("fill-mask")</c>.
    /// </summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        Json.WriteArray(writer, "tokens", Tokens);
        Json.WriteArray(writer, "input_ids", InputIds);
        writer.WriteStartArray("masks");
        foreach (var mask in Masks)
        {
            writer.WriteStartObject();
            writer.WriteNumber("position", mask.Position);
            writer.WriteStartArray("candidates");
            foreach (var c in mask.Candidates)
            {
                writer.WriteStartObject();
                writer.WriteNumber("score", c.Probability);
                writer.WriteNumber("token", c.Id);
                writer.WriteString("token_str", c.TokenString);
                writer.WriteString("sequence", c.Sequence);
                writer.WriteNumber("logit", c.Logit);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>The result as one line of JSON (<see cref="WriteTo"/>), non-ASCII text unescaped.</summary>
    public string ToJson() => Json.ToString(WriteTo);
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
/// <param name="Id">Vocabulary id (Hugging Face's <c>token</c>).</param>
/// <param name="Token">The BPE unit as the vocabulary spells it (a trailing &lt;/w&gt; ends a word).</param>
/// <param name="TokenString">The unit decoded for display, without &lt;/w&gt; (Hugging Face's <c>token_str</c>).</param>
/// <param name="Probability">Softmax over the whole vocabulary (Hugging Face's <c>score</c>).</param>
/// <param name="Logit">The raw output-layer score.</param>
/// <param name="Sequence">The input with this candidate in the mask's place, decoded for display.</param>
public sealed record FillMaskCandidate(int Id, string Token, string TokenString, double Probability, float Logit, string Sequence);

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

/// <summary>The JSON settings every result writer shares: compact, non-ASCII text as UTF-8 rather than \u escapes.</summary>
internal static class Json
{
    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string ToString(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            write(writer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static void WriteArray(Utf8JsonWriter writer, string name, IReadOnlyList<int> values)
    {
        writer.WriteStartArray(name);
        foreach (int v in values)
            writer.WriteNumberValue(v);
        writer.WriteEndArray();
    }

    public static void WriteArray(Utf8JsonWriter writer, string name, IReadOnlyList<string> values)
    {
        writer.WriteStartArray(name);
        foreach (string v in values)
            writer.WriteStringValue(v);
        writer.WriteEndArray();
    }
}
