using System.Runtime.InteropServices;
using System.Text.Json;

namespace XlmEdge.Benchmarks;

/// <summary>Timings and outputs of one case on one engine.</summary>
internal sealed record CaseResult(string Name, double[] TimesMs, CaseOutput Output);

/// <summary>
/// What a benchmark child process reports: per case the timings and outputs, plus its load time
/// and peak resident set. Stored as PREFIX.json (timings, top candidates) and two raw
/// little-endian float32 files, PREFIX.rows.bin (full logit rows at the masks, where the engine
/// has them) and PREFIX.hidden.bin (encoder outputs), in case order. torch_bench.py writes the
/// same layout.
/// </summary>
internal sealed record EngineResult(string Engine, string Runtime, int Threads, double LoadMs, long PeakRssKb, IReadOnlyList<CaseResult> Cases)
{
    public CaseResult? Find(string caseName) => Cases.FirstOrDefault(c => c.Name == caseName);

    public void Write(string prefix)
    {
        using (var stream = File.Create(prefix + ".json"))
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("engine", Engine);
            w.WriteString("runtime", Runtime);
            w.WriteNumber("threads", Threads);
            w.WriteNumber("load_ms", LoadMs);
            w.WriteNumber("peak_rss_kb", PeakRssKb);
            w.WriteStartArray("cases");
            foreach (var c in Cases)
            {
                w.WriteStartObject();
                w.WriteString("name", c.Name);
                w.WriteStartArray("times_ms");
                foreach (var t in c.TimesMs)
                    w.WriteNumberValue(t);
                w.WriteEndArray();
                if (c.Output.TopIds is { } ids && c.Output.TopLogits is { } logits)
                {
                    WriteRows(w, "top_ids", ids, static (w, v) => w.WriteNumberValue(v));
                    WriteRows(w, "top_logits", logits, static (w, v) => w.WriteNumberValue(v));
                }
                w.WriteBoolean("has_rows", c.Output.MaskRows is not null);
                w.WriteBoolean("has_hidden", c.Output.Hidden is not null);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        WriteFloats(prefix + ".rows.bin", Cases.SelectMany(c => c.Output.MaskRows ?? []));
        WriteFloats(prefix + ".hidden.bin", Cases.SelectMany(c => c.Output.Hidden ?? []));
    }

    public static EngineResult Read(string prefix, IReadOnlyList<BenchCase> cases, ModelGeometry geometry)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(prefix + ".json"));
        var root = doc.RootElement;
        using var rows = File.OpenRead(prefix + ".rows.bin");
        using var hidden = File.OpenRead(prefix + ".hidden.bin");
        var results = new List<CaseResult>();
        foreach (var e in root.GetProperty("cases").EnumerateArray())
        {
            var name = e.GetProperty("name").GetString()!;
            var c = cases.Single(x => x.Name == name);
            var times = e.GetProperty("times_ms").EnumerateArray().Select(x => x.GetDouble()).ToArray();
            int[][]? topIds = null;
            float[][]? topLogits = null;
            if (e.TryGetProperty("top_ids", out var idsElement))
            {
                topIds = idsElement.EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt32()).ToArray()).ToArray();
                topLogits = e.GetProperty("top_logits").EnumerateArray()
                    .Select(r => r.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray();
            }
            var maskRows = e.GetProperty("has_rows").GetBoolean() ? ReadFloats(rows, c.Batch, geometry.VocabSize) : null;
            var states = e.GetProperty("has_hidden").GetBoolean() ? ReadFloats(hidden, c.Batch, c.Tokens * geometry.EmbeddingSize) : null;
            results.Add(new CaseResult(name, times, new CaseOutput(topIds, topLogits, maskRows, states)));
        }
        return new EngineResult(
            root.GetProperty("engine").GetString()!,
            root.GetProperty("runtime").GetString()!,
            root.GetProperty("threads").GetInt32(),
            root.GetProperty("load_ms").GetDouble(),
            root.GetProperty("peak_rss_kb").GetInt64(),
            results);
    }

    private static void WriteRows<T>(Utf8JsonWriter w, string name, T[][] rows, Action<Utf8JsonWriter, T> write)
    {
        w.WriteStartArray(name);
        foreach (var row in rows)
        {
            w.WriteStartArray();
            foreach (var v in row)
                write(w, v);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }

    private static void WriteFloats(string path, IEnumerable<float[]> rows)
    {
        using var stream = File.Create(path);
        foreach (var row in rows)
            stream.Write(MemoryMarshal.AsBytes(row.AsSpan()));
    }

    private static float[][] ReadFloats(Stream stream, int count, int width)
    {
        var rows = new float[count][];
        for (var i = 0; i < count; i++)
        {
            rows[i] = new float[width];
            stream.ReadExactly(MemoryMarshal.AsBytes(rows[i].AsSpan()));
        }
        return rows;
    }
}
