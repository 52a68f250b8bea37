using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using XlmEdge.CommandLine;
using XlmEdge.Tokenization;

namespace XlmEdge.Cli.Commands;

/// <summary>One request line of the JSON-lines mode: a text (or, for fill-mask, input ids) and a language.</summary>
internal sealed record JsonRequest(string? Text, int[]? InputIds, string Language, IReadOnlyList<string>? Targets = null);

/// <summary>
/// The JSON-lines protocol: one request object per stdin line, one response object per stdout
/// line. A bad line gets {"error": "line N: ..."} and the next lines are still processed.
/// </summary>
internal static class JsonLines
{
    /// <summary>
    /// Longest request line, in UTF-16 code units. A text may hold <see cref="XlmTokenizer.MaxTextLength"/>
    /// characters, and JSON escapes (\uXXXX) can make each one six: lines up to that size are read,
    /// longer ones are refused without being held in memory.
    /// </summary>
    public const int MaxLineLength = 6 * XlmTokenizer.MaxTextLength + 4096;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Runs <paramref name="handle"/> on each line; returns 1 when any line failed, else 0.</summary>
    public static int Process(TextReader stdin, TextWriter stdout, string defaultLanguage, bool allowIds,
        Action<JsonRequest, Utf8JsonWriter> handle)
    {
        int exit = 0;
        var reader = new BoundedLineReader(stdin, MaxLineLength);
        while (reader.ReadLine() is { } line)
        {
            if (line.Text is not null && string.IsNullOrWhiteSpace(line.Text))
                continue;
            string output;
            try
            {
                if (line.Text is null)
                    throw new FormatException($"the line is longer than {MaxLineLength:N0} characters");
                var request = Parse(line.Text, defaultLanguage, allowIds);
                output = Write(w => handle(request, w));
            }
            catch (Exception e) when (e is XlmEdgeException or JsonException or ArgumentException or FormatException)
            {
                exit = 1;
                string message = $"line {line.Number}: {Describe(e)}";
                output = Write(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("error", message);
                    w.WriteEndObject();
                });
            }
            stdout.WriteLine(output);
            stdout.Flush();
        }
        return exit;
    }

    /// <summary>"targets" belong to fill-mask; elsewhere they would be ignored silently.</summary>
    public static void RefuseTargets(JsonRequest request)
    {
        if (request.Targets is not null)
            throw new FormatException("\"targets\" is a fill-mask field");
    }

    private static string Describe(Exception e) => e switch
    {
        // System.Text.Json counts lines and bytes from 0 and appends them to its message; the line is ours to name.
        JsonException j => $"not valid JSON ({ConsoleHost.OneLine(j.Message.Split(" Path:", 2)[0].Split(" LineNumber:", 2)[0])}, at byte {j.BytePositionInLine})",
        _ => ConsoleHost.OneLine(e.Message),
    };

    private static JsonRequest Parse(string line, string defaultLanguage, bool allowIds)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new FormatException("each line must be a JSON object");
        string language = defaultLanguage;
        string? text = null;
        int[]? ids = null;
        List<string>? targets = null;
        foreach (var property in root.EnumerateObject())
        {
            switch (Name(property))
            {
                case "lang":
                    language = String(property.Value, "lang");
                    break;
                case "text":
                    text = String(property.Value, "text");
                    break;
                case "input_ids" when allowIds:
                    if (property.Value.ValueKind != JsonValueKind.Array)
                        throw new FormatException("\"input_ids\" must be an array of integers");
                    ids = new int[property.Value.GetArrayLength()];
                    int i = 0;
                    foreach (var e in property.Value.EnumerateArray())
                        ids[i++] = e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int id) ? id : throw new FormatException("\"input_ids\" must be an array of integers");
                    break;
                case "targets" when allowIds:
                    if (property.Value.ValueKind != JsonValueKind.Array)
                        throw new FormatException("\"targets\" must be an array of strings");
                    targets = [];
                    foreach (var e in property.Value.EnumerateArray())
                        targets.Add(String(e, "targets"));
                    break;
            }
        }
        if (text is not null && ids is not null)
            throw new FormatException("a line has either \"text\" or \"input_ids\", not both");
        if (text is null && ids is null)
            throw new FormatException(allowIds ? "a line needs \"text\" or \"input_ids\"" : "a line needs \"text\"");
        return new JsonRequest(text, ids, language, targets);
    }

    // A \uD800-style escape without its pair parses as JSON but is no UTF-16 string: System.Text.Json
    // throws InvalidOperationException when it is read. It is bad input like any other.
    private static string Name(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            throw new FormatException("a key holds an unpaired UTF-16 surrogate escape");
        }
    }

    private static string String(JsonElement value, string name)
    {
        if (value.ValueKind != JsonValueKind.String)
            throw new FormatException(name == "targets" ? "\"targets\" must be an array of strings" : $"\"{name}\" must be a string");
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new FormatException($"\"{name}\" holds an unpaired UTF-16 surrogate escape");
        }
    }

    public static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            write(writer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

/// <summary>
/// Reads lines (ended by \n, \r\n or the end of input) and numbers them from 1, without ever
/// holding more than the limit: a longer line comes back with a null text and is skipped.
/// </summary>
internal sealed class BoundedLineReader(TextReader reader, int maxLength)
{
    private readonly char[] _buffer = new char[64 * 1024];
    private readonly StringBuilder _line = new();
    private int _start, _end, _number;
    private bool _eof;

    public (int Number, string? Text)? ReadLine()
    {
        _line.Clear();
        bool tooLong = false, any = false;
        while (true)
        {
            if (_start == _end)
            {
                if (_eof || (_end = reader.Read(_buffer, 0, _buffer.Length)) == 0)
                {
                    _eof = true;
                    _start = _end = 0;
                    if (!any)
                        return null;
                    break;
                }
                _start = 0;
            }
            any = true;
            int newline = Array.IndexOf(_buffer, '\n', _start, _end - _start);
            int stop = newline < 0 ? _end : newline;
            if (!tooLong && _line.Length + (stop - _start) > maxLength)
            {
                tooLong = true;
                _line.Clear();
            }
            if (!tooLong)
                _line.Append(_buffer, _start, stop - _start);
            _start = newline < 0 ? _end : newline + 1;
            if (newline >= 0)
                break;
        }
        _number++;
        if (tooLong)
            return (_number, null);
        if (_line.Length > 0 && _line[^1] == '\r')
            _line.Length--;
        return (_number, _line.ToString());
    }
}
