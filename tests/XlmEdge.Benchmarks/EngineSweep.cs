using System.Diagnostics;

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
