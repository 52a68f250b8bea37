using System.Diagnostics;
using System.Globalization;

namespace XlmEdge.Benchmarks;

/// <summary>
/// The measuring loop of a child process: one engine, every case it supports, warm-up first,
/// then one Stopwatch reading per timed call. Runs in its own process so that each engine's
/// peak resident set is its own and no engine's idle worker threads compete with another's.
/// </summary>
internal static class EngineSweep
{
    /// <summary>Long enough for tiered JIT (with dynamic PGO) to finish compiling the hot methods at full optimization.</summary>
    private static readonly TimeSpan JitWarmup = TimeSpan.FromSeconds(3);

    /// <summary>Calls after which tiered JIT has promoted a method that every call of a case runs (its call-count threshold is 30).</summary>
    private const int TieringCalls = 30;

    /// <summary>The most time the per-case warm-up may take, for the cases that have not reached <see cref="TieringCalls"/> calls.</summary>
    private static readonly TimeSpan CaseWarmupBudget = TimeSpan.FromSeconds(10);

    public static EngineResult Run(IBenchEngine engine, int threads, double loadMs, IReadOnlyList<BenchCase> cases, bool warmJit, TextWriter log)
    {
        var supported = cases.Where(c => engine.Supports(c.Kind)).ToList();
        if (warmJit)
            WarmUp(engine, supported);

        var results = new List<CaseResult>();
        foreach (var c in supported)
        {
            engine.Prepare(c);
            for (var i = 0; i < c.Warmup; i++)
                engine.Run();
            var times = new double[c.Iterations];
            for (var i = 0; i < c.Iterations; i++)
            {
                var start = Stopwatch.GetTimestamp();
                engine.Run();
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            results.Add(new CaseResult(c.Name, times, engine.Collect()));
            log.WriteLine($"  {engine.Name,-12} {c.Name,-24} median {Stats.Median(times),9:F2} ms  p90 {Stats.P90(times),9:F2} ms  (n={times.Length})");
        }
        return new EngineResult(engine.Name, "", threads, loadMs, ProcessMemory.PeakResidentKb(), results);
    }

    /// <summary>
    /// The child side of <see cref="InterleavedSweep"/>: warm up as <see cref="Run"/> does, answer
    /// <c>ready I,J,..</c> (the indices of the cases this engine supports), then obey one command per line:
    /// <c>run I W N</c> (prepare case I if it is not the current one, W untimed calls, N timed ones; answer the
    /// N times in ms), <c>collect</c> (keep what the last call produced; answer <c>ok</c>) and <c>exit</c>.
    /// Returns the timings of every case in case order.
    /// </summary>
    public static EngineResult Serve(IBenchEngine engine, int threads, double loadMs, IReadOnlyList<BenchCase> cases, bool warmJit, TextReader input, TextWriter output)
    {
        var supported = Enumerable.Range(0, cases.Count).Where(i => engine.Supports(cases[i].Kind)).ToList();
        if (warmJit)
            WarmUp(engine, supported.Select(i => cases[i]).ToList());
        Answer(output, "ready " + string.Join(",", supported));

        var times = supported.ToDictionary(i => i, _ => new List<double>());
        var outputs = new Dictionary<int, CaseOutput>();
        int current = -1;
        string? line;
        while ((line = input.ReadLine()) is not null && line != "exit")
        {
            var parts = line.Split(' ');
            if (parts is ["run", var index, var warmup, var count])
            {
                int i = int.Parse(index, CultureInfo.InvariantCulture);
                if (i != current)
                {
                    engine.Prepare(cases[i]);
                    current = i;
                }
                for (int w = int.Parse(warmup, CultureInfo.InvariantCulture); w > 0; w--)
                    engine.Run();
                var chunk = new double[int.Parse(count, CultureInfo.InvariantCulture)];
                for (int k = 0; k < chunk.Length; k++)
                {
                    var start = Stopwatch.GetTimestamp();
                    engine.Run();
                    chunk[k] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }
                times[i].AddRange(chunk);
                Answer(output, string.Join(" ", chunk.Select(t => t.ToString("R", CultureInfo.InvariantCulture))));
            }
            else if (parts is ["collect"] && current >= 0)
            {
                outputs[current] = engine.Collect();
                Answer(output, "ok");
            }
            else
            {
                throw new UsageException($"engine serve: unknown command '{line}'");
            }
        }
        var results = supported.Where(outputs.ContainsKey).Select(i => new CaseResult(cases[i].Name, [.. times[i]], outputs[i])).ToList();
        return new EngineResult(engine.Name, "", threads, loadMs, ProcessMemory.PeakResidentKb(), results);

        static void Answer(TextWriter output, string text)
        {
            output.WriteLine(text);
            output.Flush();
        }
    }

    /// <summary>
    /// Runs every case once (each shape reaches every code path and grows every buffer), then the
    /// smallest case of each kind repeatedly until <see cref="JitWarmup"/> has passed, then every case
    /// round robin until each has run <see cref="TieringCalls"/> times or <see cref="CaseWarmupBudget"/> is
    /// spent (the cheap cases first). Without the last step the methods that only larger cases run (other
    /// token blocks) were still at tier 0 during their timed calls: an XlmEdge
    /// fill-mask at T = 32 took 29-41 ms in 14 of its first 50 calls (most with minor page faults, as the
    /// JIT installed new code) and 20-21 ms from about call 50 on; with DOTNET_TieredCompilation=0 every
    /// call took 19-21 ms from the first.
    /// </summary>
    private static void WarmUp(IBenchEngine engine, List<BenchCase> cases)
    {
        var start = Stopwatch.GetTimestamp();
        foreach (var c in cases)
        {
            engine.Prepare(c);
            engine.Run();
        }
        var smallest = cases.GroupBy(c => c.Kind).Select(g => g.MinBy(c => c.Tokens * c.Batch)!).ToList();
        while (Stopwatch.GetElapsedTime(start) < JitWarmup)
        {
            foreach (var c in smallest)
            {
                engine.Prepare(c);
                engine.Run();
            }
        }
        var calls = cases.ToDictionary(c => c, _ => 1);
        var budget = Stopwatch.GetTimestamp();
        var cheapestFirst = cases.OrderBy(c => c.Tokens * c.Batch).ToList();
        while (Stopwatch.GetElapsedTime(budget) < CaseWarmupBudget && cheapestFirst.Any(c => calls[c] < TieringCalls))
        {
            foreach (var c in cheapestFirst.Where(c => calls[c] < TieringCalls))
            {
                engine.Prepare(c);
                engine.Run();
                calls[c]++;
            }
        }
    }
}
