using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace XlmEdge.Cli.Commands;

/// <summary>One request line of the JSON-lines mode: a text (or, for fill-mask, input ids) and a language.</summary>
internal sealed record JsonRequest(string? Text, int[]? InputIds, string Language);

/// <summary>
/// The JSON-lines protocol: one request object per stdin line, one response object per stdout
/// line. A bad line gets {"error": "..."} and the next lines are still processed.
/// </summary>
internal static class JsonLines
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Runs <paramref name="handle"/> on each line; returns 1 when any line failed, else 0.</summary>
    public static int Process(TextReader stdin, TextWriter stdout, string defaultLanguage, bool allowIds,
        Action<JsonRequest, Utf8JsonWriter> handle)
    {
        int exit = 0;
        string? line;
        while ((line = stdin.ReadLine()) is not null)
        {
            if (string.IsNullOrWhiteSpace(line))
                continue;
            string output;
            try
            {
                var request = Parse(line, defaultLanguage, allowIds);
                output = Write(w => handle(request, w));
            }
            catch (Exception e) when (e is XlmEdgeException or JsonException or ArgumentException or FormatException)
            {
                exit = 1;
                output = Write(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("error", Program.OneLine(e.Message));
                    w.WriteEndObject();
                });
            }
            stdout.WriteLine(output);
            stdout.Flush();
        }
        return exit;
    }

    private static JsonRequest Parse(string line, string defaultLanguage, bool allowIds)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new FormatException("each line must be a JSON object");
        string language = defaultLanguage;
        if (root.TryGetProperty("lang", out var lang))
            language = lang.ValueKind == JsonValueKind.String ? lang.GetString()! : throw new FormatException("\"lang\" must be a string");
        string? text = null;
        int[]? ids = null;
        if (root.TryGetProperty("text", out var t))
            text = t.ValueKind == JsonValueKind.String ? t.GetString()! : throw new FormatException("\"text\" must be a string");
        else if (allowIds && root.TryGetProperty("input_ids", out var idArray))
        {
            if (idArray.ValueKind != JsonValueKind.Array)
                throw new FormatException("\"input_ids\" must be an array of integers");
            ids = new int[idArray.GetArrayLength()];
            int i = 0;
            foreach (var e in idArray.EnumerateArray())
                ids[i++] = e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int id) ? id : throw new FormatException("\"input_ids\" must be an array of integers");
        }
        else
            throw new FormatException(allowIds ? "a line needs \"text\" or \"input_ids\"" : "a line needs \"text\"");
        return new JsonRequest(text, ids, language);
    }

    public static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            write(writer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
            w.WriteStringValue(v);
        w.WriteEndArray();
    }

    public static void WriteInts(Utf8JsonWriter w, string name, IEnumerable<int> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
            w.WriteNumberValue(v);
        w.WriteEndArray();
    }
}
