namespace XlmEdge.Gpu.Tests;

/// <summary>The benchmark's code path, on the tiny model (no timing claims): it must not rot between GPU runs.</summary>
[Collection(DeviceCollection.Name)]
public sealed class GpuBenchmarkTests
{
    [Fact]
    public void QuickRunComparesEveryCaseWithTheCpu()
    {
        var log = new StringWriter();
        Assert.Equal(0, GpuBenchmark.Run(["--quick"], log));
        var rows = log.ToString().Split('\n').Where(l => l.StartsWith("| latency", StringComparison.Ordinal) || l.StartsWith("| throughput", StringComparison.Ordinal)).ToList();
        var deviceRows = rows.Where(r => r.Contains("| device", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, rows.Count(r => r.Contains("| cpu", StringComparison.Ordinal)));
        Assert.True(deviceRows.Count >= 3, log.ToString());
        Assert.All(deviceRows, r => Assert.EndsWith("| yes |", r.TrimEnd()));
        Assert.Contains("profile (device):", log.ToString());
    }
}
