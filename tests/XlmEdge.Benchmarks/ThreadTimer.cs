using System.Diagnostics;

namespace XlmEdge.Benchmarks;

/// <summary>Times work on dedicated threads for the machine probes (FMA peak, read bandwidth).</summary>
internal static class ThreadTimer
{
    /// <summary>
    /// Runs <paramref name="work"/>(i) on <paramref name="threads"/> new threads released together and returns
    /// the seconds from the first start to the last end, each stamped by its own thread. Timing from the
    /// calling thread after the start barrier was wrong on a 2-core machine: that thread could be descheduled
    /// while its workers ran, and the FMA probe once measured 619 GFLOP/s for two cores that peak at 2 x 222.
    /// (Parallel.For, which the bandwidth probe used, may also run every slice on the calling thread.)
    /// </summary>
    public static double Seconds(int threads, Action<int> work)
    {
        using var start = new Barrier(threads);
        var starts = new long[threads];
        var ends = new long[threads];
        var workers = Enumerable.Range(0, threads).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            starts[i] = Stopwatch.GetTimestamp();
            work(i);
            ends[i] = Stopwatch.GetTimestamp();
        })).ToArray();
        foreach (var t in workers)
            t.Start();
        foreach (var t in workers)
            t.Join();
        return (double)(ends.Max() - starts.Min()) / Stopwatch.Frequency;
    }
}
