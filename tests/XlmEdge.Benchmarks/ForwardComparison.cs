using System.Diagnostics;
using System.Text.Json;

namespace XlmEdge.Benchmarks;

/// <summary>
/// The encoder at one T on one model file, on the preset's generated forward and on the generic loop, timed in one
/// process; <paramref name="GenericLoadedFirst"/>: that process loaded the generic forward's model before the generated one's.
/// </summary>
internal sealed record ForwardTiming(string Model, string Forward, int Tokens, bool GenericLoadedFirst, double[] GeneratedMs, double[] GenericMs)
{
    /// <summary>Generic median over generated median: above 1, the generated forward is faster.</summary>
    public double Speedup => Stats.Median(GenericMs) / Stats.Median(GeneratedMs);

    /// <summary>
    /// Per model file and T, the two load orders' speedups and their geometric mean, which cancels the advantage of
    /// the model loaded second (see <see cref="ForwardComparison"/>).
    /// </summary>
    public static IEnumerable<(string Model, string Forward, int Tokens, ForwardTiming? GeneratedFirst, ForwardTiming? GenericFirst, double Speedup)> Combined(IEnumerable<ForwardTiming> timings) =>
        timings.GroupBy(f => (f.Model, f.Forward, f.Tokens)).Select(g =>
        {
            var generatedFirst = g.FirstOrDefault(f => !f.GenericLoadedFirst);
            var genericFirst = g.FirstOrDefault(f => f.GenericLoadedFirst);
            return (g.Key.Model, g.Key.Forward, g.Key.Tokens, generatedFirst, genericFirst, Math.Exp(g.Average(f => Math.Log(f.Speedup))));
        });
}

/// <summary>
/// The generated forward against the generic one, interleaved in one process: the model file is loaded twice
/// (<see cref="XlmModelOptions.UseGeneratedForward"/> true and false; the mapping is shared), and each round
/// gives each its turn, the order swapped every round, with a short pause between turns so the idle pool's
/// spinning workers have gone to sleep before the other model runs. A turn is <see cref="TurnCalls"/> calls of
/// <see cref="XlmModel.EncodeIds"/> back to back, and the time per call is the turn's over that count: one
/// call of the tiny geometry takes 50-450 µs, so a single call per turn mostly timed the wake-up of the parked
/// worker (the same build measured 0.95x and 1.39x "generic / generated" at T = 16 and 128 in one run).
/// Both see the same machine state, which on a shared machine matters more than any run-to-run setting.
/// The model loaded second ran 2-5 % faster at T = 8-16 whichever forward it had (enfr-1024, 2 threads, AMD EPYC
/// Zen 5, 2026-12-01: generic / generated 0.97x-0.99x with the generated forward loaded first, 1.03x-1.05x with
/// the generic one first, with or without a pause between calls), so <see cref="Measure"/> runs a process for
/// each load order and the report takes the geometric mean of the two.
/// </summary>
internal static class ForwardComparison
{
    /// <summary>Child process body: writes a JSON list of timings to <paramref name="outPath"/>.</summary>
    public static int Run(string gguf, int threads, int[] tokenCounts, double iterationScale, bool genericFirst, string outPath, TextWriter log)
    {
        var loadedFirst = XlmModel.Load(gguf, new XlmModelOptions { Threads = threads, UseGeneratedForward = !genericFirst });
        using var generated = genericFirst ? XlmModel.Load(gguf, new XlmModelOptions { Threads = threads }) : loadedFirst;
        using var generic = genericFirst ? loadedFirst : XlmModel.Load(gguf, new XlmModelOptions { Threads = threads, UseGeneratedForward = false });
        var forward = generated.GeneratedForward is { } preset ? $"generated forward of {preset.Name}" : "no preset: both run the generic forward";
        var timings = new List<ForwardTiming>();
        var random = new Random(1);
        foreach (int t in tokenCounts)
        {
            var ids = BenchCase.FillMaskChecks(generated.Config.Geometry.VocabularySize, random.Next(), (t, 1))[0].Ids[0];
            var hidden = new float[t * generated.Config.Geometry.EmbeddingDimension];
            void Call(XlmModel model) => model.EncodeIds(ids, BenchCase.LanguageId, hidden);

            // Warm-up: tiered JIT reaches its final code for both models' calls.
            var warmUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 2;
            while (Stopwatch.GetTimestamp() < warmUntil)
            {
                Call(generated);
                Call(generic);
            }
            int calls = TurnCalls(() => Call(generic));
            int rounds = Math.Max(3, (int)Math.Round((t <= 64 ? 41 : 21) * iterationScale));
            var a = new double[rounds];
            var b = new double[rounds];
            for (int r = 0; r < rounds; r++)
            {
                bool generatedFirst = r % 2 == 0;
                double first = Time(generatedFirst ? generated : generic);
                double second = Time(generatedFirst ? generic : generated);
                (a[r], b[r]) = generatedFirst ? (first, second) : (second, first);
            }
            timings.Add(new ForwardTiming(Path.GetFileName(gguf), forward, t, genericFirst, a, b));
            log.WriteLine($"  {Path.GetFileName(gguf),-20} T={t,-4} generated {Stats.Median(a),9:F3} ms  generic {Stats.Median(b),9:F3} ms  ({rounds} rounds of {calls} calls each; {(genericFirst ? "generic" : "generated")} loaded first; {forward})");

            double Time(XlmModel model)
            {
                Thread.Sleep(1);
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < calls; i++)
                    Call(model);
                return Stopwatch.GetElapsedTime(start).TotalMilliseconds / calls;
            }
        }
        using var stream = File.Create(outPath);
        JsonSerializer.Serialize(stream, timings);
        return 0;
    }

    /// <summary>Calls per turn: enough for a turn of about <see cref="TurnMs"/> ms (one call when a call takes longer).</summary>
    private static int TurnCalls(Action call)
    {
        var times = new double[5];
        for (int i = 0; i < times.Length; i++)
        {
            long start = Stopwatch.GetTimestamp();
            call();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return Math.Clamp((int)Math.Ceiling(TurnMs / Math.Max(Stats.Median(times), 1e-3)), 1, 1000);
    }

    /// <summary>The shortest turn: long against the worker's wake-up (tens of µs on this VM), short against the host's drift.</summary>
    private const double TurnMs = 2;

    /// <summary>Parent side: runs the comparison in two child processes, one per load order, and reads their timings; empty when one fails.</summary>
    public static List<ForwardTiming> Measure(string gguf, int threads, string tokens, double iterationScale, string outDir, TextWriter log)
    {
        var timings = new List<ForwardTiming>();
        foreach (bool genericFirst in new[] { false, true })
        {
            var outPath = Path.Combine(outDir, $"forward-{Path.GetFileNameWithoutExtension(gguf)}{(genericFirst ? "-generic-first" : "")}.json");
            string[] arguments = ["forward-ab", "--model", gguf, "--threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--tokens", tokens, "--iterations", iterationScale.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", outPath];
            var run = BenchmarkRun.RunSelf(genericFirst ? [.. arguments, "--generic-first"] : arguments);
            if (run.ExitCode != 0)
                return [];
            using var stream = File.OpenRead(outPath);
            timings.AddRange(JsonSerializer.Deserialize<List<ForwardTiming>>(stream) ?? []);
        }
        return timings;
    }
}
