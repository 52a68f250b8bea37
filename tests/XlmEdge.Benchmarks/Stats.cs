namespace XlmEdge.Benchmarks;

/// <summary>Order statistics of a timing sample (nearest-rank percentiles, so the figures are real samples).</summary>
internal static class Stats
{
    public static double Median(IReadOnlyList<double> samples) => Percentile(samples, 50);

    public static double P90(IReadOnlyList<double> samples) => Percentile(samples, 90);

    public static double Percentile(IReadOnlyList<double> samples, double percent)
    {
        if (samples.Count == 0)
            return double.NaN;
        var sorted = samples.Order().ToArray();
        var rank = (int)Math.Ceiling(percent / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
