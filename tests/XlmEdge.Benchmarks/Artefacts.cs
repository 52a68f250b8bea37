using System.Diagnostics;
using System.Text.Json;

namespace XlmEdge.Benchmarks;

/// <summary>One artefact's per-call timings: the round trip seen by the benchmark, and the time inside the call where the artefact reports it.</summary>
internal sealed record ArtefactResult(string Name, string What, double[] RoundTripMs, double[] InsideMs, int Top1, string? Error)
{
    public bool Succeeded => Error is null;
}

/// <summary>
/// The artefacts users run, timed per call on the same fill-mask text: the XlmEdge library in process
/// (this benchmark's <c>serve</c> mode, on the JIT), the Native AOT <c>xlmedge</c> console in its
/// JSON-lines mode, the same console on the JIT (<c>dotnet XlmEdge.Cli.dll</c>: console code without AOT
/// code generation, which tells the two causes apart), and libxlmedge.so through the C API
/// (native/xlmedge_bench.c). Each is one long-lived process that gets one line per call and answers with
/// one line; the benchmark times the round trip (the pipes add tens of microseconds) and goes round
/// the artefacts one call at a time, so every artefact sees the same machine state.
/// </summary>
internal sealed class Artefacts : IDisposable
{
    private readonly List<(string Name, string What, Process Process, Func<string, string> Line)> _servers = [];

    public void Add(string name, string what, string fileName, IEnumerable<string> arguments, Func<string, string> line,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            info.Environment[key] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + fileName);
        _servers.Add((name, what, process, line));
    }

    /// <summary>Time one artefact may spend in timed calls: one far slower than the others (the scalar path) stops early instead of holding up the run.</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Warm-up (every artefact for at least <paramref name="warmup"/>, round robin, so tiered JIT has
    /// finished where there is one), then <paramref name="calls"/> timed rounds (fewer for an artefact
    /// past <see cref="Budget"/>, but at least 3).
    /// </summary>
    public List<ArtefactResult> Measure(string text, TimeSpan warmup, int calls, TextWriter log)
    {
        var errors = new Dictionary<string, string>();
        var roundTrip = _servers.ToDictionary(s => s.Name, _ => new List<double>());
        var inside = _servers.ToDictionary(s => s.Name, _ => new List<double>());
        var top1 = _servers.ToDictionary(s => s.Name, _ => -1);

        void Round(bool record)
        {
            foreach (var (name, _, process, line) in _servers)
            {
                if (errors.ContainsKey(name) || (record && roundTrip[name].Count >= 3 && roundTrip[name].Sum() > Budget.TotalMilliseconds))
                    continue;
                long start = Stopwatch.GetTimestamp();
                process.StandardInput.WriteLine(line(text));
                process.StandardInput.Flush();
                var answer = process.StandardOutput.ReadLine();
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (answer is null || !TryRead(answer, out int id, out double? insideMs))
                {
                    errors[name] = answer is null ? $"exited with {(process.WaitForExit(5000) ? process.ExitCode : "no exit")}" : "answered " + answer;
                    continue;
                }
                top1[name] = id;
                if (!record)
                    continue;
                roundTrip[name].Add(ms);
                if (insideMs is { } x)
                    inside[name].Add(x);
            }
        }

        var until = Stopwatch.GetTimestamp() + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        do
            Round(record: false);
        while (Stopwatch.GetTimestamp() < until);
        for (int i = 0; i < calls; i++)
            Round(record: true);

        var results = _servers.Select(s => new ArtefactResult(s.Name, s.What, [.. roundTrip[s.Name]], [.. inside[s.Name]], top1[s.Name],
            errors.GetValueOrDefault(s.Name))).ToList();
        foreach (var r in results)
        {
            log.WriteLine(r.Succeeded
                ? $"  {r.Name,-14} round trip median {Stats.Median(r.RoundTripMs),8:F2} ms{(r.InsideMs.Length > 0 ? $", inside the call {Stats.Median(r.InsideMs):F2} ms" : "")}, top-1 {r.Top1}"
                : $"  {r.Name,-14} FAILED: {r.Error}");
        }
        return results;
    }

    /// <summary>The top-1 id of an answer: the console's fill-mask JSON, or {"ms", "top1"} from the C driver and the serve mode.</summary>
    private static bool TryRead(string answer, out int top1, out double? insideMs)
    {
        top1 = -1;
        insideMs = null;
        try
        {
            using var doc = JsonDocument.Parse(answer);
            var root = doc.RootElement;
            if (root.TryGetProperty("top1", out var id))
            {
                top1 = id.GetInt32();
                insideMs = root.GetProperty("ms").GetDouble();
                return true;
            }
            if (root.TryGetProperty("masks", out var masks))
            {
                // The candidate's id is "id", or "token" in the Hugging Face-shaped results.
                var best = masks[0].GetProperty("candidates")[0];
                top1 = (best.TryGetProperty("id", out var x) ? x : best.GetProperty("token")).GetInt32();
                return true;
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
        }
        return false;
    }

    public void Dispose()
    {
        foreach (var (_, _, process, _) in _servers)
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(10000))
                process.Kill();
            process.Dispose();
        }
    }
}
