using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace XlmEdge.Benchmarks;

/// <summary>The machine a run happened on, and the memory bandwidth the compute floor uses.</summary>
internal sealed record MachineInfo(string CpuModel, int Cores, double MemoryGiB, string Os, string DotNet, string LoadAverage);

internal static class MachineProbe
{
    public static MachineInfo Describe() => new(
        CpuModel(),
        Environment.ProcessorCount,
        MemoryGiB(),
        RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        LoadAverage());

    /// <summary>The 1, 5 and 15 minute load averages: other work on the machine skews every timing.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static string CpuModel()
    {
        if (File.Exists("/proc/cpuinfo"))
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null)
                return line[(line.IndexOf(':') + 1)..].Trim();
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static double MemoryGiB()
    {
        if (!File.Exists("/proc/meminfo"))
            return double.NaN;
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return double.Parse(line["MemTotal:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / (1024.0 * 1024.0);
    }

    /// <summary>
    /// Read bandwidth in GB/s: <paramref name="threads"/> threads sum disjoint slices of a buffer far
    /// larger than the last-level cache; best of several passes. This is the rate at which a
    /// forward pass can stream fp16 weights that are not in cache.
    /// </summary>
    public static double ReadBandwidthGBps(int threads, int megabytes = 512)
    {
        using var probe = new ReadBandwidthProbe(megabytes);
        return probe.GBps(threads, passes: 6);
    }
}

/// <summary>
/// A buffer far larger than the last-level cache, kept for repeated read-bandwidth measurements (the
/// benchmark measures one in every round of a case, next to the engines' calls).
/// </summary>
internal sealed class ReadBandwidthProbe(int megabytes) : IDisposable
{
    private float[] _data = CreateData(megabytes);

    private static float[] CreateData(int megabytes)
    {
        var data = new float[megabytes * 1024L * 1024 / sizeof(float)];
        data.AsSpan().Fill(1f);
        return data;
    }

    /// <summary>GB/s of <paramref name="threads"/> threads summing disjoint slices, the best of <paramref name="passes"/> passes.</summary>
    public double GBps(int threads, int passes)
    {
        var best = double.MaxValue;
        var sink = 0f;
        for (var pass = 0; pass < passes; pass++)
        {
            var partial = new float[threads];
            var slice = _data.Length / threads;
            best = Math.Min(best, ThreadTimer.Seconds(threads, t => partial[t] = TensorPrimitives.Sum<float>(_data.AsSpan(t * slice, slice))));
            sink += partial.Sum();
        }
        GC.KeepAlive(sink);
        return _data.Length * (double)sizeof(float) / best / 1e9;
    }

    public void Dispose() => _data = [];
}
