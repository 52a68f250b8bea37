using System.Diagnostics;

namespace XlmEdge.Fuzz;

/// <summary>A contract violation and the input that shows it.</summary>
internal sealed record Violation(string Fuzzer, int Iteration, string Mutations, string Problem);

/// <summary>One fuzzer: makes a mutant from a seeded random source and checks everything it is run through.</summary>
internal interface IFuzzer
{
    string Name { get; }

    /// <summary>
    /// Makes mutant <paramref name="iteration"/> and checks it; returns the mutations applied and the
    /// violations found (empty when the contract held). <paramref name="asProcess"/>: also run the
    /// built tool as a process on it.
    /// </summary>
    (string Mutations, IReadOnlyList<string> Problems) RunOne(Random random, int iteration, bool asProcess);

    /// <summary>Copies the current mutant to <paramref name="folder"/> so that a violation can be reproduced.</summary>
    void KeepMutant(string folder);
}

/// <summary>
/// Runs a fuzzer until its time or iteration budget is spent. Each iteration has its own seed
/// (seed + iteration), so a reported iteration can be replayed alone with --seed and --iterations 1.
/// A share of the time goes to running the built tool as a process on the mutant.
/// </summary>
internal static class FuzzLoop
{
    /// <summary>Most seconds one iteration may take before it counts as a hang.</summary>
    private const int HangSeconds = 60;
    /// <summary>Share of the elapsed time spent on runs as a process (each costs a process start).</summary>
    private const double ProcessShare = 0.15;

    public static List<Violation> Run(IFuzzer fuzzer, int seed, TimeSpan budget, int maxIterations, string? keepFolder, TextWriter log)
    {
        var violations = new List<Violation>();
        var total = Stopwatch.StartNew();
        var processTime = new Stopwatch();
        int iteration = 0, processRuns = 0;
        for (; iteration < maxIterations && total.Elapsed < budget; iteration++)
        {
            var random = new Random(unchecked(seed + iteration));
            bool asProcess = processTime.Elapsed.TotalSeconds <= ProcessShare * total.Elapsed.TotalSeconds;
            if (asProcess)
            {
                processRuns++;
                processTime.Start();
            }
            int current = iteration;
            var work = Task.Run(() => fuzzer.RunOne(random, current, asProcess));
            bool finished = work.Wait(TimeSpan.FromSeconds(HangSeconds));
            processTime.Stop();
            if (!finished)
            {
                violations.Add(new Violation(fuzzer.Name, iteration, "?", $"an iteration did not finish within {HangSeconds} s"));
                Keep(fuzzer, keepFolder, iteration, log);
                break;
            }
            var (mutations, problems) = work.Result;
            foreach (var problem in problems)
            {
                violations.Add(new Violation(fuzzer.Name, iteration, mutations, problem));
                log.WriteLine($"VIOLATION {fuzzer.Name} seed {seed} iteration {iteration} [{mutations}]: {problem}");
            }
            if (problems.Count > 0)
                Keep(fuzzer, keepFolder, iteration, log);
        }
        log.WriteLine($"{fuzzer.Name}: {iteration} mutants in {total.Elapsed.TotalSeconds:F1} s ({processRuns} also as a process), seed {seed}, {violations.Count} violations");
        return violations;
    }

    private static void Keep(IFuzzer fuzzer, string? keepFolder, int iteration, TextWriter log)
    {
        if (keepFolder is null)
            return;
        string folder = Path.Combine(keepFolder, $"{fuzzer.Name}-{iteration}");
        Directory.CreateDirectory(folder);
        fuzzer.KeepMutant(folder);
        log.WriteLine($"  kept in {folder}");
    }
}
