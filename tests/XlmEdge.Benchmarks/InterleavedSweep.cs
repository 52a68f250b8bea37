using System.Diagnostics;
using System.Globalization;
using XlmEdge.Kernels;

namespace XlmEdge.Benchmarks;

/// <summary>One engine of an interleaved sweep: its label in the results, its kind (xlmedge, ort, ort-encoder) and model file.</summary>
internal sealed record SweepEngine(string Label, string Kind, string Model);

/// <summary>
/// What an interleaved sweep measured: each engine's results, and per case the FMA peak of XlmEdge's width on
/// the run's threads (GFLOP/s) and the memory read bandwidth on them (GB/s), each measured once per round
/// between the engines' calls.
/// </summary>
internal sealed record InterleavedResults(IReadOnlyDictionary<string, EngineResult> Engines, IReadOnlyDictionary<string, double[]> FmaGflops,
    IReadOnlyDictionary<string, double[]> BandwidthGBps);

/// <summary>
/// Times the engines case by case, taking turns. Each engine is one long-lived child process (its own
/// resident set, no other engine's threads in it) that warms up once and then times calls on command
/// (<see cref="EngineSweep.Serve"/>). A case's calls are split into rounds; in each round every engine
/// that runs the case gets one untimed call (its threads may have parked while the others ran) and then
/// its share of the timed calls, the order rotating from round to round. This host's speed moves by
/// 20-30 % within an hour (the same build's T = 16 encoder took 8.0-8.2 ms at 21:09 and 9.8-9.9 ms at 21:45
/// UTC on 2026-11-30), and sweeping one engine after the other put those moves into the ratios: the T = 512
/// encoder measured 0.91x, 0.99x and 1.21x ONNX Runtime in three runs of one afternoon. Taking turns within a
/// case gives every engine the same machine. For the same reason the FMA peak and the read bandwidth that the
/// floor is made of are measured in every round of a case, next to the calls they are compared with: the
/// bandwidth measured once after a sweep read 28.3 GB/s on 2 threads in one run (45.2 in the run before),
/// below the 29.3 GB/s at which XlmEdge's T = 8 encoder had streamed its weights in that run, so that
/// "floor" was above a measured time.
/// </summary>
internal static class InterleavedSweep
{
    /// <summary>The most rounds a case's calls are split into.</summary>
    public const int MaxRounds = 5;

    /// <summary>
    /// Pause after each engine's turn, so that its idle threads have stopped spinning before the next engine
    /// runs: ONNX Runtime's intra-op workers spin up to 2^20 pause instructions (milliseconds) before they
    /// block, XlmEdge's for 200 µs.
    /// </summary>
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(50);

    public static InterleavedResults Run(IReadOnlyList<SweepEngine> engines, string checkpoint, string casesPath, IReadOnlyList<BenchCase> cases,
        ModelGeometry geometry, int threads, string outDir, bool probeMachine, TextWriter log, List<string> failures)
    {
        var servers = new List<Server>();
        try
        {
            foreach (var e in engines)
            {
                log.WriteLine($"  starting {e.Label} (load and warm-up)");
                var server = Server.Start(e, checkpoint, casesPath, threads, Path.Combine(outDir, e.Label.Replace(' ', '-')));
                if (server.Error is { } error)
                    failures.Add($"{e.Label}: {error}");
                servers.Add(server);
            }

            var fma = new Dictionary<string, double[]>();
            var bandwidth = new Dictionary<string, double[]>();
            var path = CpuFeatures.Selected;
            // 256 MB, eight times this machine's L3; three passes per round (about 50 ms).
            using var probe = probeMachine ? new ReadBandwidthProbe(256) : null;
            for (int ci = 0; ci < cases.Count; ci++)
            {
                var c = cases[ci];
                var turn = servers.Where(s => s.Error is null && s.Supported.Contains(ci)).ToList();
                if (turn.Count == 0)
                    continue;
                var peaks = new List<double>();
                var rates = new List<double>();
                int rounds = Math.Min(c.Iterations, MaxRounds);
                for (int r = 0; r < rounds; r++)
                {
                    int share = c.Iterations / rounds + (r < c.Iterations % rounds ? 1 : 0);
                    for (int k = 0; k < turn.Count; k++)
                    {
                        var s = turn[(k + r) % turn.Count];
                        s.Time(ci, r == 0 ? Math.Max(c.Warmup, 1) : 1, share);
                        Thread.Sleep(Settle);
                    }
                    if (probeMachine && FmaPeak.IsMeasurable(path))
                        peaks.Add(FmaPeak.Gflops(path, threads));
                    if (probe is not null)
                        rates.Add(probe.GBps(threads, passes: 3));
                }
                foreach (var s in turn)
                {
                    s.Collect();
                    if (s.Error is null)
                        log.WriteLine($"  {s.Engine.Label,-14} {c.Name,-24} median {Stats.Median([.. s.Times[ci]]),9:F2} ms  p90 {Stats.P90([.. s.Times[ci]]),9:F2} ms  (n={s.Times[ci].Count})");
                    else
                        failures.Add($"{s.Engine.Label}: {s.Error}");
                }
                if (peaks.Count > 0)
                {
                    fma[c.Name] = [.. peaks];
                    log.WriteLine(FormattableString.Invariant($"  FMA peak ({CpuFeatures.Name(path)}, {threads} threads) in its rounds: {string.Join(", ", peaks.Select(p => p.ToString("F0", CultureInfo.InvariantCulture)))} GFLOP/s"));
                }
                if (rates.Count > 0)
                {
                    bandwidth[c.Name] = [.. rates];
                    log.WriteLine(FormattableString.Invariant($"  read bandwidth ({threads} threads) in its rounds: {string.Join(", ", rates.Select(r => r.ToString("F1", CultureInfo.InvariantCulture)))} GB/s"));
                }
            }

            var results = new Dictionary<string, EngineResult>();
            foreach (var s in servers.Where(s => s.Error is null))
            {
                if (s.Finish() is { } error)
                    failures.Add($"{s.Engine.Label}: {error}");
                else
                    results[s.Engine.Label] = EngineResult.Read(s.Prefix, cases, geometry);
            }
            return new InterleavedResults(results, fma, bandwidth);
        }
        finally
        {
            foreach (var s in servers)
                s.Dispose();
        }
    }

    /// <summary>One engine's child process and the times it has answered, per case index.</summary>
    private sealed class Server : IDisposable
    {
        private readonly Process _process;

        private Server(SweepEngine engine, Process process, string prefix)
        {
            Engine = engine;
            _process = process;
            Prefix = prefix;
        }

        public SweepEngine Engine { get; }
        public string Prefix { get; }
        public HashSet<int> Supported { get; } = [];
        public Dictionary<int, List<double>> Times { get; } = [];
        public string? Error { get; private set; }

        public static Server Start(SweepEngine engine, string checkpoint, string casesPath, int threads, string prefix)
        {
            var (fileName, arguments) = BenchmarkRun.Self(["engine", engine.Kind, "--model", engine.Model, "--checkpoint", checkpoint,
                "--cases", casesPath, "--threads", threads.ToString(CultureInfo.InvariantCulture), "--out", prefix, "--serve"]);
            var info = new ProcessStartInfo(fileName) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in arguments)
                info.ArgumentList.Add(a);
            var server = new Server(engine, Process.Start(info) ?? throw new InvalidOperationException("could not start " + fileName), prefix);
            var ready = server.Ask(null);
            if (ready is not null && ready.StartsWith("ready", StringComparison.Ordinal))
            {
                foreach (var i in ready["ready".Length..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    server.Supported.Add(int.Parse(i, CultureInfo.InvariantCulture));
            }
            else
            {
                server.Fail(ready);
            }
            return server;
        }

        public void Time(int caseIndex, int warmup, int count)
        {
            if (Error is not null)
                return;
            var answer = Ask(FormattableString.Invariant($"run {caseIndex} {warmup} {count}"));
            var times = answer?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (times is null || times.Length != count)
            {
                Fail(answer);
                return;
            }
            if (!Times.TryGetValue(caseIndex, out var list))
                Times[caseIndex] = list = [];
            list.AddRange(times.Select(t => double.Parse(t, CultureInfo.InvariantCulture)));
        }

        public void Collect()
        {
            if (Error is null && Ask("collect") != "ok")
                Fail(null);
        }

        /// <summary>Asks the child to write its results and exit; null when it did, else what went wrong.</summary>
        public string? Finish()
        {
            try
            {
                _process.StandardInput.WriteLine("exit");
                _process.StandardInput.Close();
            }
            catch (IOException)
            {
                // gone already: its exit code says how
            }
            _process.WaitForExit();
            return _process.ExitCode == 0 ? null : $"the sweep exited with {_process.ExitCode}";
        }

        /// <summary>Sends <paramref name="command"/> (none: just reads) and returns the answer line, null when the child has gone.</summary>
        private string? Ask(string? command)
        {
            try
            {
                if (command is not null)
                {
                    _process.StandardInput.WriteLine(command);
                    _process.StandardInput.Flush();
                }
                return _process.StandardOutput.ReadLine();
            }
            catch (IOException)
            {
                return null; // the child has gone: its pipe is closed
            }
        }

        private void Fail(string? answer) =>
            Error = answer is null
                ? $"the sweep exited with {(_process.WaitForExit(10000) ? _process.ExitCode.ToString(CultureInfo.InvariantCulture) : "no exit")}"
                : "the sweep answered " + answer;

        public void Dispose()
        {
            if (!_process.HasExited)
                _process.Kill();
            _process.Dispose();
        }
    }
}
