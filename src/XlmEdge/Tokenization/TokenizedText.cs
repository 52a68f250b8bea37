using System.Text.Json;

namespace XlmEdge.Tokenization;

/// <summary>The result of <see cref="XlmTokenizer.Encode(string, string)"/>.</summary>
public sealed class TokenizedText
{
    internal TokenizedText(string[] tokens, int[] ids, string language, int languageId)
    {
        Tokens = tokens;
        Ids = ids;
        Language = language;
        LanguageId = languageId;
    }

    /// <summary>BPE tokens (subwords ending a word carry <c>&lt;/w&gt;</c>), without the <c>&lt;s&gt;</c>/<c>&lt;/s&gt;</c> framing.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>Model input ids: <c>&lt;s&gt;</c>, one id per token (unknown units are <c>&lt;unk&gt;</c>), <c>&lt;/s&gt;</c>.</summary>
    public IReadOnlyList<int> Ids { get; }

    /// <summary>The language code the text was tokenized for.</summary>
    public string Language { get; }

    /// <summary>The model's id for <see cref="Language"/> (every position of the input gets it).</summary>
    public int LanguageId { get; }

    /// <summary>Writes <c>{"tokens":[...],"ids":[...]}</c>, the shape of <c>xlmedge tokenize</c>'s JSON lines.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        Json.WriteArray(writer, "tokens", Tokens);
        Json.WriteArray(writer, "ids", Ids);
        writer.WriteEndObject();
    }

    /// <summary>The result as one line of JSON (<see cref="WriteTo"/>).</summary>
    public string ToJson() => Json.ToString(WriteTo);
}
