using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using XlmEdge.Weights;

namespace XlmEdge.WeightsTool.Commands;

/// <summary>
/// inspect FILE [--json]: the metadata (long arrays abbreviated in the human form) and the
/// tensor table (name, type, shape, absolute offset, bytes), as read by the runtime's GGUF
/// reader. The shape is in PyTorch order, outermost first ([out, in] for a Linear weight), as
/// the Hugging Face checkpoint has it; the file stores GGUF's ne[], innermost first, which is the
/// reverse (ne[0] = in). --json gives both, as "shape" and "ne".
/// </summary>
internal static class InspectCommand
{
    private const int ShownArrayItems = 8;

    public static int Run(string path, bool json, TextWriter stdout)
    {
        using var file = GgufFile.Open(path);
        if (json)
            WriteJson(file, path, stdout);
        else
            WriteText(file, path, stdout);
        return 0;
    }

    private static void WriteText(GgufFile file, string path, TextWriter o)
    {
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path}: GGUF v{file.Version}, {file.FileLength} bytes"));
        o.WriteLine($"metadata ({file.Metadata.Count} keys):");
        int keyWidth = file.Metadata.Count == 0 ? 0 : file.Metadata.Max(m => m.Key.Length);
        foreach (var m in file.Metadata)
            o.WriteLine($"  {m.Key.PadRight(keyWidth)}  {TypeName(m)} = {ValueText(m.Value)}");
        o.WriteLine($"tensors ({file.Tensors.Count}; shape in PyTorch order, outermost first: GGUF's ne[] is the reverse):");
        var rows = file.Tensors.Select(t => new[]
        {
            t.Name, t.Type.ToString(), "[" + string.Join(", ", t.Shape) + "]",
            t.DataOffset.ToString(CultureInfo.InvariantCulture), t.ByteLength.ToString(CultureInfo.InvariantCulture),
        }).Prepend(["name", "type", "shape", "offset", "bytes"]).ToList();
        var widths = Enumerable.Range(0, 5).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var r in rows)
        {
            var line = new StringBuilder("  ");
            for (int c = 0; c < 5; c++)
                line.Append(c < 3 ? r[c].PadRight(widths[c] + 2) : r[c].PadLeft(widths[c] + 2));
            o.WriteLine(line.ToString().TrimEnd());
        }
    }

    private static void WriteJson(GgufFile file, string path, TextWriter o)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("file", path);
            w.WriteNumber("version", file.Version);
            w.WriteNumber("file_length", file.FileLength);
            w.WriteStartObject("metadata");
            foreach (var m in file.Metadata)
            {
                w.WriteStartObject(m.Key);
                w.WriteString("type", TypeName(m));
                w.WritePropertyName("value");
                WriteJsonValue(w, m.Value);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartArray("tensors");
            foreach (var t in file.Tensors)
            {
                w.WriteStartObject();
                w.WriteString("name", t.Name);
                w.WriteString("type", t.Type.ToString());
                w.WriteStartArray("shape");
                foreach (long d in t.Shape)
                    w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("ne");
                foreach (long d in Enumerable.Reverse(t.Shape))
                    w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteNumber("offset", t.DataOffset);
                w.WriteNumber("bytes", t.ByteLength);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        o.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static string TypeName(GgufMetadata m) =>
        m.Type == GgufValueType.Array ? $"{Lower(m.ElementType)}[{((Array)m.Value).Length}]" : Lower(m.Type);

    private static string Lower(GgufValueType t) => t.ToString().ToLowerInvariant();

    private static string ValueText(object value) => value switch
    {
        string s => Quote(s),
        bool b => b ? "true" : "false",
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        Array a => ArrayText(a),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string ArrayText(Array a)
    {
        var shown = new List<string>();
        for (int i = 0; i < Math.Min(a.Length, ShownArrayItems); i++)
            shown.Add(ValueText(a.GetValue(i)!));
        if (a.Length > ShownArrayItems)
            shown.Add($"... {a.Length - ShownArrayItems} more");
        return "[" + string.Join(", ", shown) + "]";
    }

    private static string Quote(string s)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            w.WriteStringValue(s);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteJsonValue(Utf8JsonWriter w, object value)
    {
        switch (value)
        {
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case float f when float.IsFinite(f): w.WriteNumberValue(f); break;
            case double d when double.IsFinite(d): w.WriteNumberValue(d); break;
            case float or double: w.WriteStringValue(ValueText(value)); break;
            case byte or sbyte or ushort or short or uint or int or long:
                w.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case ulong u: w.WriteNumberValue(u); break;
            case Array a:
                w.WriteStartArray();
                foreach (var item in a)
                    WriteJsonValue(w, item!);
                w.WriteEndArray();
                break;
            default:
                w.WriteStringValue(value.ToString());
                break;
        }
    }
}
