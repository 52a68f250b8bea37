using System.Diagnostics;
using System.Text.Json;

namespace XlmEdge.Benchmarks;

/// <summary>The encoder at one T on one model file, on the preset's generated forward and on the generic loop.</summary>
internal sealed record ForwardTiming(string Model, string Forward, int Tokens, double[] GeneratedMs, double[] GenericMs)
{
    /// <summary>Generic median over generated median: above 1, the generated forward is faster.</summary>
    public double Speedup => Stats.Median(GenericMs) / Stats.Median(GeneratedMs);
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
/// </summary>
internal static class ForwardComparison
{
    /// <summary>Child process body: writes a JSON list of timings to <paramref name="outPath"/>.</summary>
    public static int Run(string gguf, int threads, int[] tokenCounts, double iterationScale, string outPath, TextWriter log)
    {
        using var generated = XlmModel.Load(gguf, new XlmModelOptions { Threads = threads });
        using var generic = XlmModel.Load(gguf, new XlmModelOptions { Threads = threads, UseGeneratedForward = false });
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
            timings.Add(new ForwardTiming(Path.GetFileName(gguf), forward, t, a, b));
            log.WriteLine($"  {Path.GetFileName(gguf),-20} T={t,-4} generated {Stats.Median(a),9:F3} ms  generic {Stats.Median(b),9:F3} ms  ({rounds} rounds of {calls} calls each; {forward})");

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

    /// <summary>Parent side: runs the comparison in a child process and reads its timings; empty when it fails.</summary>
    public static List<ForwardTiming> Measure(string gguf, int threads, string tokens, double iterationScale, string outDir, TextWriter log)
    {
        var outPath = Path.Combine(outDir, $"forward-{Path.GetFileNameWithoutExtension(gguf)}.json");
        var run = BenchmarkRun.RunSelf(["forward-ab", "--model", gguf, "--threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tokens", tokens, "--iterations", iterationScale.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", outPath]);
        if (run.ExitCode != 0)
            return [];
        using var stream = File.OpenRead(outPath);
        return JsonSerializer.Deserialize<List<ForwardTiming>>(stream) ?? [];
    }
}
