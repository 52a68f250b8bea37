namespace XlmEdge.Benchmarks;

/// <summary>Reads this process's peak resident set (VmHWM) from /proc, the figure a child reports.</summary>
internal static class ProcessMemory
{
    public static long PeakResidentKb()
    {
        const string Status = "/proc/self/status";
        if (!File.Exists(Status))
            return -1;
        foreach (var line in File.ReadLines(Status))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        return -1;
    }
}
