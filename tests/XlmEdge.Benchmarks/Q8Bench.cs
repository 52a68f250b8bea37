using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime;

namespace XlmEdge.Benchmarks;

/// <summary>
/// <c>q8</c>: the int8 comparison of issue 12. Four engines on the fill-mask cases (batch 1, T = 8 .. 512):
/// XlmEdge on the q8 and on the fp16 packing, ONNX Runtime on the fp32 export and on the dynamically
/// int8-quantized export (export_onnx.py --weights int8). Each engine runs in its own child process and
/// the four take turns within each case (<see cref="InterleavedSweep"/>), so that load drifting on a shared
/// machine falls on every engine.
/// The outputs are checked against ONNX Runtime fp32 and printed beside the timings: the fp16 packing must
/// agree within <see cref="Correctness.Tolerance"/> on the same top-1 ids, the two int8 engines within
/// <see cref="Correctness.Int8Tolerance"/> (int8 is not expected to agree exactly); exit 1 otherwise. Writes q8.md in --out.
/// </summary>
internal static class Q8Bench
{
    public static int Run(BenchOptions options, TextWriter log)
    {
        var checkpoint = options.Require("checkpoint");
        var geometry = ModelGeometry.FromCheckpoint(checkpoint);
        var threads = options.Int("threads", Environment.ProcessorCount);
        var outDir = Path.GetFullPath(options.Get("out") ?? "bench-out");
        Directory.CreateDirectory(outDir);
        SweepEngine[] engines =
        [
            new("XlmEdge q8", "xlmedge", options.Require("q8")),
            new("XlmEdge fp16", "xlmedge", options.Require("gguf")),
            new("ORT fp32", "ort", options.Require("onnx")),
            new("ORT int8", "ort", options.Require("onnx-int8")),
        ];
        var machine = MachineProbe.Describe();
        var loadBefore = machine.LoadAverage;
        var started = DateTime.UtcNow;
        log.WriteLine($"q8 comparison: {machine.CpuModel}, {machine.Cores} cores, load average {loadBefore}; {threads} threads per engine, taking turns case by case");

        var cases = BenchCase.Standard(geometry.VocabSize, options.Int("seed", 1), options.Double("iterations", 1.0))
            .Where(c => c.Kind == CaseKind.FillMask && c.Batch == 1).ToList();
        var casesPath = Path.Combine(outDir, "q8-cases.json");
        BenchCase.WriteJson(cases, casesPath);

        var failures = new List<string>();
        var last = InterleavedSweep.Run(engines, checkpoint, casesPath, cases, geometry, threads, outDir, probeMachine: false, log, failures).Engines;
        if (failures.Count > 0 || last.Count < engines.Length)
        {
            foreach (var f in failures)
                log.WriteLine("FAILED: " + f);
            return 1;
        }

        var reference = last["ORT fp32"];
        var checks = engines.Where(e => e.Label != "ORT fp32").ToDictionary(e => e.Label, e => Correctness.Compare(last[e.Label], reference, null, cases));
        var md = Markdown(engines, cases, last, checks, machine, loadBefore, started, threads, last["XlmEdge q8"].Runtime);
        File.WriteAllText(Path.Combine(outDir, "q8.md"), md);
        Console.Out.Write(md);
        log.WriteLine($"wrote {outDir}/q8.md");
        var failed = false;
        foreach (var (label, check) in checks)
        {
            bool int8 = label != "XlmEdge fp16";
            if ((!int8 && check.Top1Agreeing < check.Top1Compared) || !(check.MaxLogitDiff <= (int8 ? Correctness.Int8Tolerance : Correctness.Tolerance)))
            {
                log.WriteLine($"FAILED: {label} disagrees with ONNX Runtime fp32 (top-1 {check.Top1Agreeing}/{check.Top1Compared}, max logit diff {check.MaxLogitDiff:G2})");
                failed = true;
            }
        }
        return failed ? 1 : 0;
    }

    private static string Markdown(SweepEngine[] engines, List<BenchCase> cases, IReadOnlyDictionary<string, EngineResult> results,
        Dictionary<string, Agreement> checks, MachineInfo machine, string loadBefore, DateTime started, int threads, string runtime)
    {
        double Median(string label, BenchCase c) => Stats.Median(results[label].Find(c.Name)!.TimesMs);
        var sb = new StringBuilder();
        sb.AppendLine(Inv($"Fill-mask latency in ms (median of each engine's timed calls; the four take turns within each case, up to {InterleavedSweep.MaxRounds} rounds), {threads} threads for every engine. Ratio = peer / XlmEdge q8 (above 1: q8 is faster)."));
        sb.AppendLine();
        sb.AppendLine("| T | XlmEdge q8 | XlmEdge fp16 | ORT fp32 | ORT int8 | ORT fp32 / q8 | ORT int8 / q8 | fp16 / q8 |");
        sb.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var c in cases)
        {
            double q8 = Median("XlmEdge q8", c), f16 = Median("XlmEdge fp16", c), f32 = Median("ORT fp32", c), i8 = Median("ORT int8", c);
            sb.AppendLine(Inv($"| {c.Tokens} | {q8:F1} | {f16:F1} | {f32:F1} | {i8:F1} | {f32 / q8:F2}x | {i8 / q8:F2}x | {f16 / q8:F2}x |"));
        }
        sb.AppendLine();
        sb.AppendLine("| engine | model file (MB) | peak RSS of the sweep (MB) | top-1 at the mask = ORT fp32 | max abs logit diff vs ORT fp32 |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var e in engines)
        {
            var check = checks.GetValueOrDefault(e.Label);
            sb.AppendLine(Inv($"| {e.Label} (`{Path.GetFileName(e.Model)}`) | {new FileInfo(e.Model).Length / 1e6:F1} | {results[e.Label].PeakRssKb / 1024} | {(check is null ? "reference" : $"{check.Top1Agreeing}/{check.Top1Compared}")} | {(check is null ? "-" : check.MaxLogitDiff.ToString("G2", CultureInfo.InvariantCulture))} |"));
        }
        var t16 = cases.Single(c => c.Tokens == 16);
        var speedup16 = Median("ORT fp32", t16) / Median("XlmEdge q8", t16);
        var slowest = cases.MinBy(c => Median("ORT int8", c) / Median("XlmEdge q8", c))!;
        var slowestRatio = Median("ORT int8", slowest) / Median("XlmEdge q8", slowest);
        sb.AppendLine();
        sb.AppendLine("| target (issue 12) | measured | met |");
        sb.AppendLine("| --- | --- | --- |");
        sb.AppendLine(Inv($"| q8 fill-mask at T = 16 at least 2x ONNX Runtime fp32 | {speedup16:F2}x | {(speedup16 >= 2 ? "yes" : "**no**")} |"));
        sb.AppendLine(Inv($"| q8 faster than ONNX Runtime int8 at every T | slowest ratio {slowestRatio:F2}x (T = {slowest.Tokens}) | {(slowestRatio > 1 ? "yes" : "**no**")} |"));
        sb.AppendLine();
        sb.AppendLine(Inv($"- {started:yyyy-MM-dd HH:mm} UTC; CPU {machine.CpuModel}, {machine.Cores} cores; load average before {loadBefore}, after {MachineProbe.LoadAverage()}"));
        sb.AppendLine($"- XlmEdge: {runtime}; int8 kernels {XlmRuntime.Int8Path}");
        sb.AppendLine($"- ONNX Runtime {OrtEnv.Instance().GetVersionString()}; both exports by export_onnx.py, logits at every position (the int8 one: DynamicQuantizeLinear + MatMulInteger per matrix, per-column int8 weights, the output layer included)");
        return sb.ToString();
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}
