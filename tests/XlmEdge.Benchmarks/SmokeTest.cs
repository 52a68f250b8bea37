using System.Globalization;

namespace XlmEdge.Benchmarks;

/// <summary>
/// A check that the benchmark machinery and XlmEdge work end to end, small enough for CI: packs the
/// tiny fixture checkpoint with xlmedge-weights into a temporary file, runs every case once on
/// XlmEdge and on ONNX Runtime (tests/fixtures/tiny-enfr/model.onnx), and fails unless both
/// engines ran every case and agree on the top-1 id and the logits; then the golden at the real
/// width (<see cref="RealWidthGolden"/>; <c>--no-golden</c> leaves it out). No PyTorch, no cold starts.
/// </summary>
internal static class SmokeTest
{
    public static int Run(BenchOptions options, TextWriter log)
    {
        var fixture = Path.Combine(FindFixtures(), "tiny-enfr");
        var temp = Directory.CreateTempSubdirectory("xlmedge-bench-smoke-");
        try
        {
            var gguf = Path.Combine(temp.FullName, "tiny-enfr.gguf");
            var pack = ChildProcess.Run(Path.Combine(AppContext.BaseDirectory, "xlmedge-weights"), ["pack", fixture, "-o", gguf]);
            if (pack.ExitCode != 0 || !File.Exists(gguf))
            {
                log.WriteLine($"FAILED: xlmedge-weights pack {fixture} exited with {pack.ExitCode}");
                return 1;
            }
            var geometry = ModelGeometry.FromCheckpoint(fixture);
            var cases = BenchCase.Standard(geometry.VocabSize, seed: 1, iterationScale: 0.01);
            var casesPath = Path.Combine(temp.FullName, "cases.json");
            BenchCase.WriteJson(cases, casesPath);
            var threads = options.Int("threads", Environment.ProcessorCount).ToString(CultureInfo.InvariantCulture);

            var results = new Dictionary<string, EngineResult>();
            foreach (var (engine, model) in new[] { ("xlmedge", gguf), ("ort", Path.Combine(fixture, "model.onnx")) })
            {
                var prefix = Path.Combine(temp.FullName, engine);
                var run = BenchmarkRun.RunSelf(["engine", engine, "--model", model, "--checkpoint", fixture, "--cases", casesPath, "--threads", threads, "--out", prefix, "--no-jit-warmup"]);
                if (run.ExitCode != 0)
                {
                    log.WriteLine($"FAILED: {engine} exited with {run.ExitCode}");
                    return 1;
                }
                results[engine] = EngineResult.Read(prefix, cases, geometry);
            }

            var ours = results["xlmedge"];
            var missing = cases.Where(c => ours.Find(c.Name) is null).Select(c => c.Name).ToList();
            var agreement = Correctness.Compare(ours, results["ort"], null, cases);
            var expectedCompared = cases.Where(c => c.Kind == CaseKind.FillMask).Sum(c => c.Batch);
            log.WriteLine($"smoke: XlmEdge ran {ours.Cases.Count}/{cases.Count} cases; top-1 agrees with ONNX Runtime {agreement.Top1Agreeing}/{agreement.Top1Compared}; max abs logit diff {agreement.MaxLogitDiff:0.0e0}; peak RSS {ours.PeakRssKb / 1024} MiB");
            if (missing.Count > 0 || agreement.Top1Compared != expectedCompared || !agreement.Passed(Correctness.Tolerance))
            {
                log.WriteLine("FAILED: " + (missing.Count > 0 ? "cases missing: " + string.Join(", ", missing) : "XlmEdge disagrees with ONNX Runtime"));
                return 1;
            }
            if (!options.Flag("no-golden") && !RealWidthGolden.Run(options, FindFixtures(), temp, threads, log))
                return 1;
            log.WriteLine("smoke: ok");
            return 0;
        }
        finally
        {
            temp.Delete(recursive: true);
        }
    }

    /// <summary>tests/fixtures, found above the working directory or above the binary.</summary>
    private static string FindFixtures()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "fixtures");
                if (Directory.Exists(candidate))
                    return candidate;
            }
        }
        throw new UsageException("tests/fixtures not found above the working directory or the benchmark binary");
    }
}
