using System.Globalization;
using System.Text;
using System.Text.Json;

namespace XlmEdge.Benchmarks;

/// <summary>Process start to first result, repeated; peak RSS of that process from GNU time.</summary>
internal sealed record ColdStart(string Engine, string What, double[] WallMs, long PeakRssKb, bool Succeeded);

/// <summary>Bytes on disk: the model file an engine loads, and the runtime it needs besides the OS.</summary>
internal sealed record DiskSize(string Engine, string ModelFile, long ModelBytes, string Runtime, long RuntimeBytes);

/// <summary>What torch_bench.py info reports about the PyTorch install.</summary>
internal sealed record TorchInfo(string Version, string Blas, double SgemmGflops, long PackageBytes, long MappedLibraryBytes, string Config);

/// <summary>Everything one run measured, rendered as the markdown tables of docs/benchmarks.md and as JSON.</summary>
internal sealed class BenchReport
{
    public static readonly string[] EngineOrder = ["xlmedge", "ort", "ort-encoder", "pytorch"];

    public required MachineInfo Machine { get; init; }
    public required string LoadAfter { get; init; }
    public required int Threads { get; init; }
    public required string OrtVersion { get; init; }
    public required TorchInfo? Torch { get; init; }
    public required double BandwidthSingleGBps { get; init; }
    public required double BandwidthAllGBps { get; init; }
    public required ModelGeometry Geometry { get; init; }
    public required IReadOnlyList<BenchCase> Cases { get; init; }
    public required IReadOnlyDictionary<string, EngineResult> Engines { get; init; }
    public required IReadOnlyList<ColdStart> ColdStarts { get; init; }
    public required IReadOnlyList<DiskSize> Sizes { get; init; }
    public required IReadOnlyList<Agreement> Agreements { get; init; }

    public static string DisplayName(string engine) => engine switch
    {
        "xlmedge" => "XlmEdge",
        "ort" => "ONNX Runtime",
        "ort-encoder" => "ONNX Runtime (encoder-only export)",
        "pytorch" => "PyTorch",
        _ => engine,
    };

    /// <summary>The engine XlmEdge is compared with on a case: the full export for fill-mask, the encoder-only export for the encoder.</summary>
    public static string OrtFor(BenchCase c) => c.Kind == CaseKind.FillMask ? "ort" : "ort-encoder";

    public double? MedianMs(string engine, BenchCase c) =>
        Engines.TryGetValue(engine, out var e) && e.Find(c.Name) is { TimesMs.Length: > 0 } r ? Stats.Median(r.TimesMs) : null;

    public double? P90Ms(string engine, BenchCase c) =>
        Engines.TryGetValue(engine, out var e) && e.Find(c.Name) is { TimesMs.Length: > 0 } r ? Stats.P90(r.TimesMs) : null;

    /// <summary>
    /// The compute floor of a case in ms: the larger of FLOPs / sgemm peak (OpenBLAS on this machine,
    /// same thread count) and weight bytes / read bandwidth (all threads). No implementation that
    /// reads its fp16 weights once and computes at BLAS speed can be faster. NaN (shown as "-") when
    /// the sgemm peak is unknown (the PyTorch engine was left out): a memory-only floor would mislead.
    /// </summary>
    public double FloorMs(BenchCase c)
    {
        if (Torch is null)
            return double.NaN;
        var compute = Geometry.Flops(c) / (Torch.SgemmGflops * 1e9);
        var memory = Geometry.WeightBytes(c) / (BandwidthAllGBps * 1e9);
        return Math.Max(compute, memory) * 1e3;
    }

    public string Markdown()
    {
        var md = new StringBuilder();
        var n = string.Join("/", Cases.Select(c => c.Iterations).Distinct());
        md.AppendLine($"Latency in ms, median / p90 over {n} timed calls after warm-up, {Threads} threads for every engine. Ratio = peer median / XlmEdge median (above 1: XlmEdge is faster).");
        md.AppendLine();
        md.AppendLine("| case | XlmEdge | ONNX Runtime | ORT / XlmEdge | PyTorch | PyTorch / XlmEdge | floor | XlmEdge / floor |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var c in Cases)
        {
            var ours = MedianMs("xlmedge", c);
            var ort = MedianMs(OrtFor(c), c);
            var torch = MedianMs("pytorch", c);
            var floor = FloorMs(c);
            md.AppendLine($"| {c.Name} | {Cell("xlmedge", c)} | {Cell(OrtFor(c), c)} | {Ratio(ort, ours)} | {Cell("pytorch", c)} | {Ratio(torch, ours)} | {F(floor)} | {Ratio(ours, floor)} |");
        }
        md.AppendLine();
        md.AppendLine("Encoder rows: XlmEdge `EncodeIds` vs the encoder-only ONNX export vs the reference forward pass without its output layer; fill-mask rows: XlmEdge `FillMaskIds` (logits at the mask only) vs the full export (logits at every position, as exported) and `XLMReference.forward`, each followed by top-5 at the mask.");
        md.AppendLine();

        md.AppendLine("| engine | load in process (ms) | cold start, median (ms) | peak RSS, cold start (MB) | peak RSS, whole sweep (MB) | model file (MB) | runtime on disk (MB) |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var engine in EngineOrder)
        {
            Engines.TryGetValue(engine, out var e);
            var cold = ColdStarts.FirstOrDefault(x => x.Engine == engine);
            var size = Sizes.FirstOrDefault(x => x.Engine == engine);
            if (e is null && cold is null && size is null)
                continue;
            var coldText = cold is null ? "-" : cold.Succeeded ? F(Stats.Median(cold.WallMs)) : "failed";
            md.AppendLine($"| {DisplayName(engine)} | {(e is null ? "-" : F(e.LoadMs))} | {coldText} | {Mb(cold?.PeakRssKb * 1024)} | {Mb(e?.PeakRssKb * 1024)} | {Mb(size?.ModelBytes)} | {Mb(size?.RuntimeBytes)} |");
        }
        md.AppendLine();
        foreach (var cold in ColdStarts)
            md.AppendLine($"- cold start, {DisplayName(cold.Engine)}: {cold.What}; runs {string.Join(", ", cold.WallMs.Select(F))} ms");
        foreach (var size in Sizes)
            md.AppendLine($"- on disk, {DisplayName(size.Engine)}: model `{size.ModelFile}`; runtime {size.Runtime}");
        md.AppendLine();

        md.AppendLine($"Correctness against ONNX Runtime on the same inputs (tolerance {Correctness.Tolerance:0e0}):");
        md.AppendLine();
        md.AppendLine("| engine | top-1 id at the mask agrees | max abs logit diff | max abs hidden-state diff | verdict |");
        md.AppendLine("| --- | ---: | ---: | ---: | --- |");
        foreach (var a in Agreements)
            md.AppendLine($"| {DisplayName(a.Engine)} | {a.Top1Agreeing}/{a.Top1Compared} | {E(a.MaxLogitDiff)} | {E(a.MaxHiddenDiff)} | {(a.Passed(Correctness.Tolerance) ? "ok" : "MISMATCH")} |");
        md.AppendLine();

        AppendTargets(md);

        md.AppendLine("Machine:");
        md.AppendLine();
        md.AppendLine($"- CPU: {Machine.CpuModel}, {Machine.Cores} cores; memory {Machine.MemoryGiB:F1} GiB; {Machine.Os}");
        md.AppendLine($"- load average (1/5/15 min) before the run: {Machine.LoadAverage}; after: {LoadAfter}");
        md.AppendLine($"- {Machine.DotNet}; ONNX Runtime {OrtVersion}");
        if (Torch is { } t)
            md.AppendLine($"- PyTorch {t.Version}, BLAS: {t.Blas}; OpenBLAS sgemm (2048^3, {Threads} threads, the better of torch.mm and numpy.matmul): {t.SgemmGflops:F0} GFLOP/s");
        md.AppendLine($"- memory read bandwidth: {BandwidthSingleGBps:F1} GB/s on 1 thread, {BandwidthAllGBps:F1} GB/s on {Threads}");
        md.AppendLine($"- model: vocab {Geometry.VocabSize}, d {Geometry.EmbeddingSize}, {Geometry.Layers} layers, {Geometry.Heads} heads; {Geometry.EncoderLinearParameters / 1e6:F1} M block weights");
        return md.ToString();
    }

    /// <summary>The targets of issue 5, each with the measured figure and whether it is met.</summary>
    private void AppendTargets(StringBuilder md)
    {
        var fill = Cases.Where(c => c.Kind == CaseKind.FillMask).ToList();
        var encode = Cases.Where(c => c.Kind == CaseKind.Encode).ToList();
        var t16 = fill.FirstOrDefault(c => c.Tokens == 16 && c.Batch == 1);
        if (t16 is null || MedianMs("xlmedge", t16) is not { } ours16)
            return;

        double? MinRatio(IEnumerable<BenchCase> cases) =>
            cases.Select(c => MedianMs(OrtFor(c), c) is { } p && MedianMs("xlmedge", c) is { } o ? p / o : (double?)null)
                .Where(r => r is not null).Min();
        string Worst(IEnumerable<BenchCase> cases) =>
            cases.MinBy(c => MedianMs(OrtFor(c), c) is { } p && MedianMs("xlmedge", c) is { } o ? p / o : double.MaxValue)?.Name ?? "-";

        md.AppendLine("Targets of issue 5:");
        md.AppendLine();
        md.AppendLine("| target | measured | met |");
        md.AppendLine("| --- | --- | --- |");
        if (MedianMs("ort", t16) is { } ort16)
            Row(md, "fill-mask at T = 16, batch 1: at least 2x faster than ONNX Runtime", $"{ort16 / ours16:F2}x ({F(ours16)} vs {F(ort16)} ms)", ort16 / ours16 >= 2);
        if (MinRatio(fill) is { } fillRatio)
            Row(md, "fill-mask: faster than ONNX Runtime at every T (and batch 8)", $"slowest ratio {fillRatio:F2}x ({Worst(fill)})", fillRatio > 1);
        if (MinRatio(encode) is { } encodeRatio)
            Row(md, "encoder alone: at least as fast as the encoder-only export at every T", $"slowest ratio {encodeRatio:F2}x ({Worst(encode)})", encodeRatio >= 1);
        if (Torch is not null)
            Row(md, "fill-mask at T = 16: within 1.5x of the compute floor", $"{ours16 / FloorMs(t16):F2}x ({F(ours16)} vs {F(FloorMs(t16))} ms)", ours16 / FloorMs(t16) <= 1.5);
        var cold = ColdStarts.FirstOrDefault(c => c.Engine == "xlmedge");
        var sweepPeak = Engines.TryGetValue("xlmedge", out var e) ? e.PeakRssKb : -1;
        var peak = Math.Max(sweepPeak, cold?.PeakRssKb ?? -1);
        if (peak > 0)
            Row(md, "peak RSS under 400 MB", $"{peak * 1024 / 1e6:F0} MB (whole sweep up to T = 512: {Mb(sweepPeak * 1024)} MB; one CLI fill-mask: {Mb(cold?.PeakRssKb * 1024)} MB)", peak * 1024 < 400e6);
        if (cold is { Succeeded: true })
            Row(md, "cold start under 150 ms (Native AOT CLI, process start to first result)", $"{F(Stats.Median(cold.WallMs))} ms", Stats.Median(cold.WallMs) < 150);
        md.AppendLine();
    }

    private static void Row(StringBuilder md, string target, string measured, bool met) =>
        md.AppendLine($"| {target} | {measured} | {(met ? "yes" : "**no**")} |");

    private string Cell(string engine, BenchCase c) =>
        MedianMs(engine, c) is { } m ? $"{F(m)} / {F(P90Ms(engine, c)!.Value)}" : "-";

    private static string Ratio(double? peer, double? ours) =>
        peer is { } p && ours is { } o && o > 0 && !double.IsNaN(p) ? (p / o).ToString("F2", CultureInfo.InvariantCulture) + "x" : "-";

    internal static string F(double v) => v switch
    {
        double.NaN => "-",
        < 10 => v.ToString("F2", CultureInfo.InvariantCulture),
        < 100 => v.ToString("F1", CultureInfo.InvariantCulture),
        _ => v.ToString("F0", CultureInfo.InvariantCulture),
    };

    private static string E(double v) => double.IsNaN(v) ? "-" : v.ToString("0.0e0", CultureInfo.InvariantCulture);

    private static string Mb(long? bytes) => bytes is { } b && b >= 0 ? (b / 1e6).ToString("F0", CultureInfo.InvariantCulture) : "-";

    public void WriteJson(string path)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteStartObject("machine");
        w.WriteString("cpu", Machine.CpuModel);
        w.WriteNumber("cores", Machine.Cores);
        w.WriteNumber("memory_gib", Math.Round(Machine.MemoryGiB, 2));
        w.WriteString("os", Machine.Os);
        w.WriteString("dotnet", Machine.DotNet);
        w.WriteString("onnxruntime", OrtVersion);
        w.WriteString("load_average_before", Machine.LoadAverage);
        w.WriteString("load_average_after", LoadAfter);
        w.WriteNumber("read_bandwidth_gbps_1_thread", Math.Round(BandwidthSingleGBps, 2));
        w.WriteNumber("read_bandwidth_gbps_all_threads", Math.Round(BandwidthAllGBps, 2));
        if (Torch is { } t)
        {
            w.WriteString("torch", t.Version);
            w.WriteString("torch_blas", t.Blas);
            w.WriteNumber("sgemm_gflops", Math.Round(t.SgemmGflops, 1));
            w.WriteString("torch_config", t.Config);
        }
        w.WriteEndObject();
        w.WriteNumber("threads", Threads);
        w.WriteStartArray("cases");
        foreach (var c in Cases)
        {
            w.WriteStartObject();
            c.WriteIdentity(w);
            w.WriteNumber("gflop", Math.Round(Geometry.Flops(c) / 1e9, 4));
            w.WriteNumber("weight_mb", Math.Round(Geometry.WeightBytes(c) / 1e6, 1));
            if (double.IsNaN(FloorMs(c)))
                w.WriteNull("floor_ms");
            else
                w.WriteNumber("floor_ms", Math.Round(FloorMs(c), 3));
            w.WriteStartObject("engines");
            foreach (var engine in EngineOrder)
            {
                if (!Engines.TryGetValue(engine, out var e) || e.Find(c.Name) is not { } r)
                    continue;
                w.WriteStartObject(engine);
                w.WriteNumber("median_ms", Math.Round(Stats.Median(r.TimesMs), 3));
                w.WriteNumber("p90_ms", Math.Round(Stats.P90(r.TimesMs), 3));
                w.WriteStartArray("times_ms");
                foreach (var x in r.TimesMs)
                    w.WriteNumberValue(Math.Round(x, 3));
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("engines");
        foreach (var (name, e) in Engines)
        {
            w.WriteStartObject(name);
            w.WriteString("runtime", e.Runtime);
            w.WriteNumber("load_ms", Math.Round(e.LoadMs, 1));
            w.WriteNumber("peak_rss_sweep_kb", e.PeakRssKb);
            if (ColdStarts.FirstOrDefault(x => x.Engine == name) is { } cold)
            {
                w.WriteString("cold_start", cold.What);
                w.WriteBoolean("cold_start_succeeded", cold.Succeeded);
                w.WriteNumber("cold_start_median_ms", Math.Round(Stats.Median(cold.WallMs), 1));
                w.WriteNumber("peak_rss_cold_kb", cold.PeakRssKb);
            }
            if (Sizes.FirstOrDefault(x => x.Engine == name) is { } size)
            {
                w.WriteNumber("model_bytes", size.ModelBytes);
                w.WriteNumber("runtime_bytes", size.RuntimeBytes);
            }
            if (Agreements.FirstOrDefault(x => x.Engine == name) is { } a)
            {
                w.WriteNumber("top1_agreeing", a.Top1Agreeing);
                w.WriteNumber("top1_compared", a.Top1Compared);
                if (double.IsFinite(a.MaxLogitDiff))
                    w.WriteNumber("max_abs_logit_diff_vs_ort", a.MaxLogitDiff);
                if (double.IsFinite(a.MaxHiddenDiff))
                    w.WriteNumber("max_abs_hidden_diff_vs_ort", a.MaxHiddenDiff);
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
