using System.Globalization;

namespace XlmEdge.Fuzz;

/// <summary>
/// xlmedge-fuzz: seeded, bounded mutation fuzzers for the file inputs.
/// Exit 0 when every mutant kept the contract, 1 when one did not (each violation is printed with
/// its seed and iteration; --keep saves the mutants), 2 on a usage error.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: xlmedge-fuzz gguf|checkpoint|all [--seconds S] [--iterations N] [--seed N] [--keep DIR]

          gguf        mutants of the demo model's GGUF file through verify, inspect, load and fill-mask
          checkpoint  mutated checkpoint folders through pack (then verify and load of what it wrote)
          all         both, the time split between them

          --seconds S     time budget (default 30 per fuzzer)
          --iterations N  at most N mutants per fuzzer (default: no limit)
          --seed N        the first iteration's seed (default: from the clock, printed)
          --keep DIR      save each mutant that breaks the contract under DIR
        """;

    private static int Main(string[] args)
    {
        string? mode = null, keep = null;
        double seconds = 30;
        int iterations = int.MaxValue;
        int seed = Environment.TickCount & 0x7fffffff;
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--seconds": seconds = double.Parse(Next(args, ref i), CultureInfo.InvariantCulture); break;
                    case "--iterations": iterations = int.Parse(Next(args, ref i), CultureInfo.InvariantCulture); break;
                    case "--seed": seed = int.Parse(Next(args, ref i), CultureInfo.InvariantCulture); break;
                    case "--keep": keep = Next(args, ref i); break;
                    case "-h" or "--help": Console.Write(Usage); return 0;
                    default:
                        if (mode is not null || args[i] is not ("gguf" or "checkpoint" or "all"))
                            throw new FormatException($"unexpected argument '{args[i]}'");
                        mode = args[i];
                        break;
                }
            }
            if (mode is null)
                throw new FormatException("no fuzzer named");
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            Console.Error.Write(Usage);
            return 2;
        }

        var violations = Run(mode, TimeSpan.FromSeconds(seconds), iterations, seed, keep, Console.Out);
        // A hung iteration may still hold a thread: leave without waiting for it.
        Environment.Exit(violations.Count == 0 ? 0 : 1);
        return 0;
    }

    /// <summary>Runs the named fuzzers; the tests call this with a small iteration budget.</summary>
    internal static List<Violation> Run(string mode, TimeSpan budget, int iterations, int seed, string? keep, TextWriter log)
    {
        string[] fuzzers = mode == "all" ? ["gguf", "checkpoint"] : [mode];
        var violations = new List<Violation>();
        var work = Directory.CreateTempSubdirectory("xlmedge-fuzz-");
        try
        {
            foreach (var name in fuzzers)
            {
                string folder = Directory.CreateDirectory(Path.Combine(work.FullName, name)).FullName;
                IFuzzer fuzzer = name == "gguf" ? new GgufFuzzer(folder) : new CheckpointFuzzer(folder);
                violations.AddRange(FuzzLoop.Run(fuzzer, seed, budget / fuzzers.Length, iterations, keep, log));
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }
        return violations;
    }

    private static string Next(string[] args, ref int i) =>
        i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
}
