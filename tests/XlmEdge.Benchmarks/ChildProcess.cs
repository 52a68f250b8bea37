using System.Diagnostics;
using System.Globalization;

namespace XlmEdge.Benchmarks;

/// <summary>How a child process ended: exit code, wall time from start to exit, its stdout, and peak RSS when measured.</summary>
internal sealed record ChildRun(int ExitCode, double WallMs, string Stdout, long PeakRssKb);

/// <summary>
/// Starts the benchmark's child processes (engine sweeps, cold starts). Cold starts run under
/// GNU time (<c>/usr/bin/time -v</c>), which reports the child's peak resident set from the
/// kernel's accounting, independent of what the child says about itself.
/// </summary>
internal static class ChildProcess
{
    private const string GnuTime = "/usr/bin/time";

    public static bool CanMeasureMemory => File.Exists(GnuTime);

    public static ChildRun Run(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, bool measureMemory = false)
    {
        string? timeFile = null;
        var info = new ProcessStartInfo { RedirectStandardOutput = true, UseShellExecute = false };
        if (measureMemory && CanMeasureMemory)
        {
            timeFile = Path.GetTempFileName();
            info.FileName = GnuTime;
            foreach (var a in new[] { "-v", "-o", timeFile, fileName })
                info.ArgumentList.Add(a);
        }
        else
        {
            info.FileName = fileName;
        }
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            info.Environment[key] = value;

        var start = Stopwatch.GetTimestamp();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + fileName);
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var wall = Stopwatch.GetElapsedTime(start).TotalMilliseconds;

        long peak = -1;
        if (timeFile is not null)
        {
            peak = ParseMaxRss(File.ReadAllText(timeFile));
            File.Delete(timeFile);
        }
        return new ChildRun(process.ExitCode, wall, stdout, peak);
    }

    private static long ParseMaxRss(string timeReport)
    {
        const string Key = "Maximum resident set size (kbytes):";
        foreach (var line in timeReport.Split('\n'))
        {
            var at = line.IndexOf(Key, StringComparison.Ordinal);
            if (at >= 0)
                return long.Parse(line[(at + Key.Length)..].Trim(), CultureInfo.InvariantCulture);
        }
        return -1;
    }
}
