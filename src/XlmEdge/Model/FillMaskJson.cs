using System.Text.Json;

namespace XlmEdge.Model;

/// <summary>
/// The JSON shape of a fill-mask result that the CLI's JSON-lines mode and the C API share
/// (DESIGN.md section 5): {"tokens":[...],"input_ids":[...],"masks":[{"position":P,"candidates":[...]}]}.
/// </summary>
internal static class FillMaskJson
{
    public static void Write(Utf8JsonWriter w, FillMaskResult result)
    {
        w.WriteStartObject();
        w.WriteStartArray("tokens");
        foreach (var t in result.Tokens)
            w.WriteStringValue(t);
        w.WriteEndArray();
        w.WriteStartArray("input_ids");
        foreach (var id in result.InputIds)
            w.WriteNumberValue(id);
        w.WriteEndArray();
        w.WriteStartArray("masks");
        foreach (var mask in result.Masks)
        {
            w.WriteStartObject();
            w.WriteNumber("position", mask.Position);
            w.WriteStartArray("candidates");
            foreach (var c in mask.Candidates)
            {
                w.WriteStartObject();
                w.WriteNumber("id", c.Id);
                w.WriteString("token", c.Token);
                w.WriteNumber("prob", c.Probability);
                w.WriteNumber("logit", c.Logit);
                w.WriteString("sequence", c.Sequence);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
