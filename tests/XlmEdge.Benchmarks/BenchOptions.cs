using System.Globalization;

namespace XlmEdge.Benchmarks;

/// <summary>Command-line options: <c>--name value</c> pairs and bare <c>--flag</c>s after an optional mode word.</summary>
internal sealed class BenchOptions
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public string Mode { get; private init; } = "run";

    public List<string> Positional { get; } = [];

    public static BenchOptions Parse(string[] args)
    {
        var explicitMode = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal);
        var options = new BenchOptions { Mode = explicitMode ? args[0] : "run" };
        for (var i = explicitMode ? 1 : 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
                options.Positional.Add(a);
            else if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                options._values[a[2..]] = args[++i];
            else
                options._flags.Add(a[2..]);
        }
        return options;
    }

    public bool Flag(string name) => _flags.Contains(name);

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public string Require(string name) =>
        Get(name) ?? throw new UsageException($"--{name} is required in mode '{Mode}'");

    public int Int(string name, int fallback) =>
        Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) =>
        Get(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
}

/// <summary>A command line the benchmark cannot act on; Program reports it and exits with 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
