using System.Diagnostics;
using System.Globalization;
using XlmEdge.Kernels;

namespace XlmEdge.Benchmarks;

/// <summary>
/// <c>int8-kernels [--threads N] [--tokens 8,16,128,512] [--layers 6] [--rounds 15]</c>: the q8 Linear kernel
/// at the enfr-1024 shapes (q, k, v, out, FFN up, FFN down) over several layers' worth of distinct random int8
/// weights (so W streams from DRAM as in the forward pass), on every int8 path this machine runs, interleaved
/// round by round in one process (A/B on a shared machine): median ms and GMAC/s per path and T.
/// </summary>
internal static class Int8KernelAB
{
    public static int Run(BenchOptions options, TextWriter output)
    {
        int threads = options.Int("threads", Environment.ProcessorCount), layers = options.Int("layers", 6), rounds = options.Int("rounds", 15);
        var tokenCounts = (options.Get("tokens") ?? "8,16,128,512").Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        var paths = Int8Paths.Supported.Where(p => p != Int8Path.Scalar).ToArray();
        using var pool = new WorkerPool(threads);
        var random = new Random(1);
        var shapes = KernelThroughput.Shapes;
        var w = new sbyte[layers][][];
        var scales = new float[layers][][];
        double macsPerToken = 0;
        for (int l = 0; l < layers; l++)
        {
            w[l] = new sbyte[shapes.Length][];
            scales[l] = new float[shapes.Length][];
            for (int s = 0; s < shapes.Length; s++)
            {
                var (n, k) = shapes[s];
                w[l][s] = new sbyte[n * k];
                random.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(w[l][s].AsSpan()));
                scales[l][s] = Enumerable.Range(0, n).Select(_ => 1e-3f).ToArray();
                macsPerToken += (double)n * k;
            }
        }
        int maxT = tokenCounts.Max();
        var x = KernelThroughput.RandomActivations(random, maxT);
        var y = new float[x.Length];
        var bias = new float[shapes.Max(s => s.N)];

        output.WriteLine($"int8 Linear, {threads} threads, enfr-1024 shapes x {layers} layers ({macsPerToken / 1e6:F0} MB int8); {MachineProbe.Describe().CpuModel}, load average {MachineProbe.LoadAverage()}");
        output.WriteLine("| T | path | median ms | min ms | GMAC/s (median) |");
        output.WriteLine("| ---: | --- | ---: | ---: | ---: |");
        foreach (int T in tokenCounts)
        {
            void Pass(Int8Path path)
            {
                for (int l = 0; l < layers; l++)
                    for (int s = 0; s < shapes.Length; s++)
                    {
                        var (n, k) = shapes[s];
                        Int8Linear.Forward(path, pool, x.AsSpan(0, T * k), T, k, n, new Int8Projection(w[l][s], scales[l][s], bias.AsSpan(0, n), y.AsSpan(0, T * n)));
                    }
            }
            long warmUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
            while (Stopwatch.GetTimestamp() < warmUntil)
                foreach (var p in paths)
                    Pass(p);
            var times = paths.ToDictionary(p => p, _ => new List<double>());
            for (int r = 0; r < rounds; r++)
                foreach (var p in paths)
                {
                    long start = Stopwatch.GetTimestamp();
                    Pass(p);
                    times[p].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            foreach (var p in paths)
            {
                double ms = Stats.Median(times[p]);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {T} | {Int8Paths.Name(p)} | {ms:F2} | {times[p].Min():F2} | {macsPerToken * T / ms / 1e6:F1} |"));
            }
        }
        output.WriteLine($"load average after: {MachineProbe.LoadAverage()}");
        return 0;
    }
}
