using System.Diagnostics;
using XlmEdge.Kernels;

namespace XlmEdge.Benchmarks;

/// <summary>
/// A golden at the real width, part of <c>--smoke</c>: a random checkpoint of the enfr-1024 geometry (d 1024,
/// so every Linear's K of 1024 or 4096 crosses the 256-wide K-slices; vocabulary 64139, so the generated
/// forward of xlm-mlm-enfr-1024 runs), made and exported to ONNX in the run (python3-numpy and
/// python3-onnx; nothing large is kept in git), then fill-mask on XlmEdge against ONNX Runtime on the
/// same weights: every logit of every mask row within <see cref="Tolerance"/>, the same top-1 id. XlmEdge
/// runs with its generated forward and with the generic one, on every accelerated SIMD width of the
/// machine (forced through XLMEDGE_SIMD in each child process), at T = 12 (one token panel: the
/// single-panel kernel), T = 40 (several panels: the GEMM) and a batch of 2 at T = 24. Then the int8 pair of
/// issue 12 against the same fp32 export: ONNX Runtime on the int8 export (<c>--weights int8</c>) and XlmEdge
/// on the q8 packing, each within <see cref="Correctness.Int8Tolerance"/> on every logit of the mask rows.
/// </summary>
internal static class RealWidthGolden
{
    public const double Tolerance = 1e-4;

    private static readonly (int Tokens, int Batch)[] Shapes = [(12, 1), (40, 1), (24, 2)];

    public static bool Run(BenchOptions options, string fixtures, DirectoryInfo temp, string threads, TextWriter log)
    {
        var clock = Stopwatch.StartNew();
        var python = new PythonScripts(options.Get("python") ?? PythonScripts.SystemPython);
        if (!python.HasModules("numpy", "onnx"))
        {
            log.WriteLine($"FAILED: the real-width golden needs {python.Interpreter} with numpy and onnx (apt-get install python3-numpy python3-onnx)");
            return false;
        }
        var checkpoint = Path.Combine(temp.FullName, "enfr-1024");
        var onnx = Path.Combine(temp.FullName, "enfr-1024.onnx");
        var gguf = Path.Combine(temp.FullName, "enfr-1024.gguf");
        if (!python.Run(log, "make_checkpoint.py", "--geometry", "enfr-1024", "--vocab-dir", Path.Combine(fixtures, "tiny-enfr"), "--seed", "1", "--out", checkpoint)
            || !python.Run(log, "export_onnx.py", checkpoint, "--out", onnx)
            || ChildProcess.Run(Path.Combine(AppContext.BaseDirectory, "xlmedge-weights"), ["pack", checkpoint, "-o", gguf]).ExitCode != 0)
        {
            log.WriteLine("FAILED: could not make, export or pack the enfr-1024 checkpoint");
            return false;
        }
        log.WriteLine($"golden: enfr-1024 checkpoint, ONNX export and GGUF made in {clock.Elapsed.TotalSeconds:F0} s");

        var geometry = ModelGeometry.FromCheckpoint(checkpoint);
        var cases = BenchCase.FillMaskChecks(geometry.VocabSize, seed: 2, Shapes);
        var casesPath = Path.Combine(temp.FullName, "golden-cases.json");
        BenchCase.WriteJson(cases, casesPath);
        var ort = Sweep("ort", onnx, checkpoint, casesPath, threads, temp, cases, geometry, null, log);
        if (ort is null)
            return false;

        bool ok = true;
        int expected = cases.Sum(c => c.Batch);
        foreach (var path in CpuFeatures.AllPaths.Where(p => p != SimdPath.Scalar && CpuFeatures.IsAccelerated(p)))
        {
            foreach (var forward in new[] { "generated", "generic" })
            {
                var environment = new Dictionary<string, string> { ["XLMEDGE_SIMD"] = path.ToString().ToLowerInvariant() };
                var ours = Sweep("xlmedge", gguf, checkpoint, casesPath, threads, temp, cases, geometry, environment, log, "--forward", forward);
                if (ours is null)
                    return false;
                var a = Correctness.Compare(ours, ort, null, cases);
                // The generated run must really have run the preset's forward, or it proves nothing about it.
                bool ranWhatWasAsked = forward == "generic" ? ours.Runtime.Contains("generic forward", StringComparison.Ordinal)
                    : ours.Runtime.Contains("generated forward of xlm-mlm-enfr-1024", StringComparison.Ordinal);
                bool passed = a.Top1Compared == expected && a.Passed(Tolerance) && ranWhatWasAsked;
                log.WriteLine($"golden: {forward} forward on {CpuFeatures.Name(path)}: top-1 agrees {a.Top1Agreeing}/{a.Top1Compared}, " +
                    $"max abs logit diff {a.MaxLogitDiff:0.0e0} over every logit of the mask rows (tolerance {Tolerance:0e0}){(passed ? "" : $" FAILED ({ours.Runtime})")}");
                ok &= passed;
            }
        }
        ok &= Int8Pair(python, checkpoint, casesPath, threads, temp, cases, geometry, ort, log);
        log.WriteLine($"golden: {(ok ? "ok" : "FAILED")} in {clock.Elapsed.TotalSeconds:F0} s");
        return ok;
    }

    private static bool Int8Pair(PythonScripts python, string checkpoint, string casesPath, string threads, DirectoryInfo temp,
        IReadOnlyList<BenchCase> cases, ModelGeometry geometry, EngineResult ort, TextWriter log)
    {
        var onnx = Path.Combine(temp.FullName, "enfr-1024-int8.onnx");
        var gguf = Path.Combine(temp.FullName, "enfr-1024-q8.gguf");
        if (!python.Run(log, "export_onnx.py", checkpoint, "--out", onnx, "--weights", "int8")
            || ChildProcess.Run(Path.Combine(AppContext.BaseDirectory, "xlmedge-weights"), ["pack", checkpoint, "-o", gguf, "--dtype", "q8"]).ExitCode != 0)
        {
            log.WriteLine("FAILED: could not export the int8 ONNX or pack q8");
            return false;
        }
        bool ok = true;
        foreach (var (engine, model, label) in new[] { ("ort", onnx, "ONNX Runtime int8 export"), ("xlmedge", gguf, "XlmEdge q8") })
        {
            var result = Sweep(engine, model, checkpoint, casesPath, threads, temp, cases, geometry, null, log);
            if (result is null)
                return false;
            var a = Correctness.Compare(result, ort, null, cases);
            bool passed = a.Top1Compared == cases.Sum(c => c.Batch) && !(a.MaxLogitDiff > Correctness.Int8Tolerance);
            log.WriteLine($"golden: {label} against the fp32 export: top-1 agrees {a.Top1Agreeing}/{a.Top1Compared}, max abs logit diff {a.MaxLogitDiff:F3} (tolerance {Correctness.Int8Tolerance}){(passed ? "" : " FAILED")}");
            ok &= passed;
        }
        return ok;
    }

    private static EngineResult? Sweep(string engine, string model, string checkpoint, string casesPath, string threads, DirectoryInfo temp,
        IReadOnlyList<BenchCase> cases, ModelGeometry geometry, Dictionary<string, string>? environment, TextWriter log, params string[] extra)
    {
        var prefix = Path.Combine(temp.FullName, $"golden-{engine}");
        var run = BenchmarkRun.RunSelf(["engine", engine, "--model", model, "--checkpoint", checkpoint, "--cases", casesPath,
            "--threads", threads, "--out", prefix, "--no-jit-warmup", .. extra], environment: environment);
        if (run.ExitCode != 0)
        {
            log.WriteLine($"FAILED: golden {engine} {string.Join(' ', extra)} exited with {run.ExitCode}");
            return null;
        }
        return EngineResult.Read(prefix, cases, geometry);
    }
}
