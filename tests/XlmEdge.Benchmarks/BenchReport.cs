using System.Globalization;
using System.Text;
using System.Text.Json;
using XlmEdge.Kernels;

namespace XlmEdge.Benchmarks;

/// <summary>Process start to first result, repeated; peak RSS of that process from GNU time.</summary>
internal sealed record ColdStart(string Engine, string What, double[] WallMs, long PeakRssKb, bool Succeeded);

/// <summary>Bytes on disk: the model file an engine loads, and the runtime it needs besides the OS.</summary>
internal sealed record DiskSize(string Engine, string ModelFile, long ModelBytes, string Runtime, long RuntimeBytes);

/// <summary>What torch_bench.py info reports about the PyTorch install.</summary>
internal sealed record TorchInfo(string Version, string Blas, long PackageBytes, long MappedLibraryBytes, string Config);

/// <summary>Everything one run measured, rendered as the markdown tables of docs/benchmarks.md and as JSON.</summary>
internal sealed class BenchReport
{
    public static readonly string[] EngineOrder = ["xlmedge", "ort", "ort-encoder", "pytorch"];

    public required MachineInfo Machine { get; init; }
    public required string LoadAfter { get; init; }
    public required int Threads { get; init; }
    public required string OrtVersion { get; init; }
    public required TorchInfo? Torch { get; init; }
    /// <summary>This machine's FMA peak per width, measured in the run (<see cref="FmaPeak"/>).</summary>
    public required IReadOnlyList<FmaRate> Fma { get; init; }
    /// <summary>Per encoder case, the FMA peak of XlmEdge's width on all threads measured in each of its rounds (<see cref="InterleavedSweep"/>).</summary>
    public IReadOnlyDictionary<string, double[]> FmaNextToCases { get; init; } = new Dictionary<string, double[]>();

    /// <summary>The read bandwidth on all the run's threads measured in each round of a case (GB/s), by case name.</summary>
    public IReadOnlyDictionary<string, double[]> BandwidthNextToCases { get; init; } = new Dictionary<string, double[]>();
    /// <summary>The SIMD path XlmEdge runs (the process's, as the runtime decides it; XLMEDGE_SIMD forces one).</summary>
    public required SimdPath XlmEdgePath { get; init; }
    public required double BandwidthSingleGBps { get; init; }
    public required double BandwidthAllGBps { get; init; }
    public required ModelGeometry Geometry { get; init; }
    public required IReadOnlyList<BenchCase> Cases { get; init; }
    public required IReadOnlyDictionary<string, EngineResult> Engines { get; init; }
    public required IReadOnlyList<ColdStart> ColdStarts { get; init; }
    public required IReadOnlyList<ArtefactResult> Artefacts { get; init; }
    public required IReadOnlyList<ForwardTiming> Forwards { get; init; }
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

    /// <summary>The measured FMA peak of the width XlmEdge runs, on all the run's threads (null on the scalar path).</summary>
    public FmaRate? XlmEdgeFma => Fma.FirstOrDefault(r => r.Path == XlmEdgePath);

    /// <summary>
    /// The floor of a case in ms: the larger of FLOPs / the FMA peak of XlmEdge's width on all threads
    /// and weight bytes / read bandwidth (all threads). No implementation on this machine that computes at
    /// that width and reads its fp16 weights once can be faster. The peak and the bandwidth are the medians of
    /// those measured in the case's own rounds, between the engines' calls, so that the floor and the time it
    /// is compared with see the same host; else the ones measured after the sweep. NaN (shown as "-") on the
    /// scalar path, which has no FMA peak to measure.
    /// </summary>
    public double FloorMs(BenchCase c)
    {
        if (XlmEdgeFma is not { } fma)
            return double.NaN;
        var peak = FmaNextToCases.TryGetValue(c.Name, out var next) && next.Length > 0 ? Stats.Median(next) : fma.AllThreadsGflops;
        var compute = Geometry.Flops(c) / (peak * 1e9);
        var bandwidth = BandwidthNextToCases.TryGetValue(c.Name, out var rates) && rates.Length > 0 ? Stats.Median(rates) : BandwidthAllGBps;
        var memory = Geometry.WeightBytes(c) / (bandwidth * 1e9);
        return Math.Max(compute, memory) * 1e3;
    }

    public string Markdown()
    {
        var md = new StringBuilder();
        var n = string.Join("/", Cases.Select(c => c.Iterations).Distinct());
        md.AppendLine($"Latency in ms, median / p90 over {n} timed calls after warm-up, {Threads} threads for every engine; XlmEdge and ONNX Runtime take turns within each case (up to {InterleavedSweep.MaxRounds} rounds). Ratio = peer median / XlmEdge median (above 1: XlmEdge is faster).");
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
        md.AppendLine("Encoder rows: XlmEdge `EncodeIds` vs the encoder-only ONNX export vs the PyTorch peer's encoder (`XlmTorch.encode`); fill-mask rows: XlmEdge `FillMaskIds` (logits at the mask only) vs the full export (logits at every position, as exported) and `XlmTorch.logits`, each followed by top-5 at the mask.");
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

        AppendArtefacts(md);
        AppendForwards(md);

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
            md.AppendLine($"- PyTorch {t.Version}, BLAS: {t.Blas}");
        if (Engines.TryGetValue("xlmedge", out var xlmedge))
            md.AppendLine($"- XlmEdge, as its engine process reported it: {xlmedge.Runtime}");
        md.AppendLine($"- FMA peak (12 independent FMA chains per thread, registers only, best of 5): " +
            string.Join("; ", Fma.Select(r => $"{CpuFeatures.Name(r.Path)} {r.OneCoreGflops:F0} GFLOP/s on one core, {r.AllThreadsGflops:F0} on {r.Threads} threads")));
        if (FmaNextToCases.Count > 0)
            md.AppendLine($"- FMA peak of {CpuFeatures.Name(XlmEdgePath)} on {Threads} threads in each round of the cases (the floors use their median): " +
                string.Join("; ", FmaNextToCases.Select(p => $"{p.Key} {string.Join(", ", p.Value.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)))} GFLOP/s")));
        md.AppendLine($"- memory read bandwidth: {BandwidthSingleGBps:F1} GB/s on 1 thread, {BandwidthAllGBps:F1} GB/s on {Threads} (after the sweep)");
        if (BandwidthNextToCases.Count > 0)
            md.AppendLine($"- memory read bandwidth on {Threads} threads in each round of the cases (the floors use their median): " +
                string.Join("; ", BandwidthNextToCases.Select(p => $"{p.Key} {string.Join(", ", p.Value.Select(x => x.ToString("F1", CultureInfo.InvariantCulture)))} GB/s")));
        md.AppendLine($"- model: vocab {Geometry.VocabSize}, d {Geometry.EmbeddingSize}, {Geometry.Layers} layers, {Geometry.Heads} heads; {Geometry.EncoderLinearParameters / 1e6:F1} M block weights");
        return md.ToString();
    }

    /// <summary>The artefacts users run, per call on the same text, beside the library in process.</summary>
    private void AppendArtefacts(StringBuilder md)
    {
        if (Artefacts.Count == 0)
            return;
        var library = Artefacts.FirstOrDefault(a => a.Name == "library" && a.Succeeded);
        var calls = Artefacts.Where(a => a.Succeeded).Select(a => a.RoundTripMs.Length).DefaultIfEmpty(0).Max();
        md.AppendLine($"The artefacts users run: fill-mask on \"{BenchmarkRun.ArtefactText}\" (T = 21 with <s> and </s>; text in, top 5 out), " +
            $"up to {calls} calls each after 3 s of warm-up (an artefact stops after 60 s of calls), one call at a time round robin, {Threads} threads. Round trip: from writing the request line to reading the answer line.");
        md.AppendLine();
        md.AppendLine("| artefact | calls | round trip, median / p90 (ms) | inside the call, median (ms) | / library |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var a in Artefacts)
        {
            if (!a.Succeeded)
            {
                md.AppendLine($"| {a.What} | - | failed: {a.Error} | - | - |");
                continue;
            }
            var median = Stats.Median(a.RoundTripMs);
            var inside = a.InsideMs.Length > 0 ? F(Stats.Median(a.InsideMs)) : "-";
            var ratio = library is null ? "-" : (median / Stats.Median(library.RoundTripMs)).ToString("F2", CultureInfo.InvariantCulture) + "x";
            md.AppendLine($"| {a.What} | {a.RoundTripMs.Length} | {F(median)} / {F(Stats.P90(a.RoundTripMs))} | {inside} | {ratio} |");
        }
        md.AppendLine();
    }

    /// <summary>The generated forward against the generic loop, in-process A/B, per model file and T.</summary>
    private void AppendForwards(StringBuilder md)
    {
        if (Forwards.Count == 0)
            return;
        md.AppendLine($"Generated against generic forward: the encoder (`EncodeIds`), the model file loaded twice in one process, calls alternating, {Threads} threads; " +
            "one process loads the generated forward's model first, another the generic one's (the model loaded second ran 2-5 % faster at T = 8-16 whichever forward it had), " +
            "and the speedup is the geometric mean of the two; ms, median / p90.");
        md.AppendLine();
        md.AppendLine("| model | forward | T | generated (generated / generic loaded first) | generic (the same) | generic / generated (the same) | generic / generated, both orders |");
        md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var c in ForwardTiming.Combined(Forwards))
        {
            string Each(Func<ForwardTiming, string> cell) => $"{(c.GeneratedFirst is { } a ? cell(a) : "-")}; {(c.GenericFirst is { } b ? cell(b) : "-")}";
            md.AppendLine($"| {c.Model} | {c.Forward} | {c.Tokens} | {Each(f => $"{F(Stats.Median(f.GeneratedMs))} / {F(Stats.P90(f.GeneratedMs))}")} | " +
                $"{Each(f => $"{F(Stats.Median(f.GenericMs))} / {F(Stats.P90(f.GenericMs))}")} | {Each(f => f.Speedup.ToString("F2", CultureInfo.InvariantCulture) + "x")} | " +
                $"{c.Speedup.ToString("F2", CultureInfo.InvariantCulture)}x |");
        }
        md.AppendLine();
    }

    /// <summary>The targets of issue 11, each with the measured figure and whether it is met.</summary>
    private void AppendTargets(StringBuilder md)
    {
        var fill = Cases.Where(c => c.Kind == CaseKind.FillMask).ToList();
        var encode = Cases.Where(c => c.Kind == CaseKind.Encode).ToList();
        if (!Engines.ContainsKey("xlmedge"))
            return;

        double? Ratio(BenchCase c) => MedianMs(OrtFor(c), c) is { } p && MedianMs("xlmedge", c) is { } o ? p / o : null;
        string Worst(IEnumerable<BenchCase> cases, Func<BenchCase, double?> ratio) =>
            cases.Where(c => ratio(c) is not null).MinBy(c => ratio(c)!.Value) is { } w ? $"{ratio(w):F2}x at {w.Name}" : "-";

        md.AppendLine("Targets of issue 11:");
        md.AppendLine();
        md.AppendLine("| target | measured | met |");
        md.AppendLine("| --- | --- | --- |");
        if (encode.Select(Ratio).Where(r => r is not null).Min() is { } encodeRatio)
            Row(md, "encoder at least as fast as ONNX Runtime's encoder-only export at every T from 8 to 512", $"slowest {Worst(encode, Ratio)}", encodeRatio >= 1);
        if (fill.Select(Ratio).Where(r => r is not null).Min() is { } fillRatio)
            Row(md, "fill-mask at least 1.5x ONNX Runtime's full export at every T and at batch 8", $"slowest {Worst(fill, Ratio)}", fillRatio >= 1.5);
        var floorCases = encode.Where(c => c.Tokens >= 16).ToList();
        double? OfFloor(BenchCase c) => MedianMs("xlmedge", c) is { } o && FloorMs(c) is var f && !double.IsNaN(f) ? o / f : null;
        if (floorCases.Select(OfFloor).Where(r => r is not null).Max() is { } floorRatio)
        {
            var worst = floorCases.MaxBy(c => OfFloor(c) ?? 0)!;
            Row(md, "encoder within 1.5x of the floor at T >= 16", $"farthest {floorRatio:F2}x at {worst.Name} ({F(MedianMs("xlmedge", worst)!.Value)} vs {F(FloorMs(worst))} ms)", floorRatio <= 1.5);
        }
        if (Forwards.Count > 0)
        {
            var speedups = ForwardTiming.Combined(Forwards).Where(f => f.Tokens is 8 or 16 or 128).ToList();
            Row(md, "generated forward faster than the generic one (T = 8, 16, 128)",
                string.Join("; ", speedups.GroupBy(f => f.Model).Select(g => $"{g.Key}: {string.Join(", ", g.Select(f => $"{f.Speedup:F2}x at T = {f.Tokens}"))}")),
                speedups.All(f => f.Speedup > 1));
        }
        var cold = ColdStarts.FirstOrDefault(c => c.Engine == "xlmedge");
        var sweepPeak = Engines.TryGetValue("xlmedge", out var e) ? e.PeakRssKb : -1;
        var peak = Math.Max(sweepPeak, cold?.PeakRssKb ?? -1);
        if (peak > 0)
            Row(md, "peak RSS no worse than before issue 11 (393 MB)", $"{peak * 1024 / 1e6:F0} MB (whole sweep up to T = 512: {Mb(sweepPeak * 1024)} MB; one CLI fill-mask: {Mb(cold?.PeakRssKb * 1024)} MB)", peak * 1024 <= 393e6);
        if (cold is { Succeeded: true })
            Row(md, "cold start no worse than before issue 11 (111-131 ms; Native AOT CLI, process start to first result)", $"{F(Stats.Median(cold.WallMs))} ms", Stats.Median(cold.WallMs) <= 131);
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
        w.WriteString("xlmedge_simd_path", CpuFeatures.Name(XlmEdgePath));
        w.WriteStartObject("fma_peak_gflops");
        foreach (var r in Fma)
        {
            w.WriteStartObject(CpuFeatures.Name(r.Path));
            w.WriteNumber("one_core", Math.Round(r.OneCoreGflops, 1));
            w.WriteNumber("all_threads", Math.Round(r.AllThreadsGflops, 1));
            w.WriteNumber("threads", r.Threads);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        if (Torch is { } t)
        {
            w.WriteString("torch", t.Version);
            w.WriteString("torch_blas", t.Blas);
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
            if (FmaNextToCases.TryGetValue(c.Name, out var peaks))
            {
                w.WriteStartArray("fma_peak_gflops_in_rounds");
                foreach (var p in peaks)
                    w.WriteNumberValue(Math.Round(p, 1));
                w.WriteEndArray();
            }
            if (BandwidthNextToCases.TryGetValue(c.Name, out var rates))
            {
                w.WriteStartArray("read_bandwidth_gbps_in_rounds");
                foreach (var r in rates)
                    w.WriteNumberValue(Math.Round(r, 2));
                w.WriteEndArray();
            }
            w.WriteStartObject("engines");
            foreach (var engine in EngineOrder)
            {
                if (!Engines.TryGetValue(engine, out var e) || e.Find(c.Name) is not { } r)
                    continue;
                w.WriteStartObject(engine);
                w.WriteNumber("median_ms", Math.Round(Stats.Median(r.TimesMs), 3));
                w.WriteNumber("p90_ms", Math.Round(Stats.P90(r.TimesMs), 3));
                WriteNumbers(w, "times_ms", r.TimesMs);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("forwards");
        foreach (var f in Forwards)
        {
            w.WriteStartObject();
            w.WriteString("model", f.Model);
            w.WriteString("forward", f.Forward);
            w.WriteNumber("tokens", f.Tokens);
            w.WriteBoolean("generic_loaded_first", f.GenericLoadedFirst);
            WriteNumbers(w, "generated_ms", f.GeneratedMs);
            WriteNumbers(w, "generic_ms", f.GenericMs);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("artefacts");
        foreach (var a in Artefacts)
        {
            w.WriteStartObject();
            w.WriteString("name", a.Name);
            w.WriteString("what", a.What);
            w.WriteString("text", BenchmarkRun.ArtefactText);
            if (a.Error is { } error)
                w.WriteString("error", error);
            w.WriteNumber("top1", a.Top1);
            WriteNumbers(w, "round_trip_ms", a.RoundTripMs);
            WriteNumbers(w, "inside_call_ms", a.InsideMs);
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

    private static void WriteNumbers(Utf8JsonWriter w, string name, IEnumerable<double> values)
    {
        w.WriteStartArray(name);
        foreach (var x in values)
            w.WriteNumberValue(Math.Round(x, 3));
        w.WriteEndArray();
    }
}
