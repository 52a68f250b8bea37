namespace XlmEdge.Tests;

/// <summary>
/// Bytes allocated on the calling thread by windows of calls, until one window allocates nothing (at most
/// <c>maxWindows</c>). A per-call allocation shows in every window; the runtime now and then charges a few KB
/// of its own to the thread once (a CI run of the whole suite saw 3,736 bytes in one window of kernel calls,
/// another 1,664 in one of generated-forward calls; dotnet/runtime#13502 and #74388 are the same on the
/// runtime's own test of <see cref="GC.GetAllocatedBytesForCurrentThread"/>), which does not repeat.
/// </summary>
internal static class AllocationWindows
{
    /// <summary>Each window's bytes; the last is 0 exactly when some window allocated nothing.</summary>
    public static List<long> Measure(Action call, int callsPerWindow, int maxWindows = 3)
    {
        var windows = new List<long>();
        while (windows.Count < maxWindows && (windows.Count == 0 || windows[^1] != 0))
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < callsPerWindow; i++)
                call();
            windows.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return windows;
    }
}
