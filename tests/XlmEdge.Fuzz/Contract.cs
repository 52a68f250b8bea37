using System.Diagnostics;

namespace XlmEdge.Fuzz;

/// <summary>What one run of xlmedge-weights printed and returned.</summary>
internal sealed record ToolRun(int ExitCode, string Stdout, string Stderr)
{
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>
/// The error contract of the weights tool (README, "Errors"): success is exit 0; bad input is
/// exit 1 with exactly one stderr line, starting "error: ", no stdout, no exception text. A
/// violation is returned as a sentence saying what broke, null when the run kept the contract.
/// </summary>
internal static class Contract
{
    private static readonly string ToolDll = typeof(XlmEdge.WeightsTool.Program).Assembly.Location;

    /// <summary>The tool in this process: thousands of runs a second on the small files fuzzed here.</summary>
    public static ToolRun InProcess(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = XlmEdge.WeightsTool.Program.Run(args, stdout, stderr);
        return new ToolRun(exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The built tool as its own process: what a script sees, exit code and streams included.</summary>
    public static ToolRun AsProcess(TimeSpan limit, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [ToolDll, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            return new ToolRun(-1, "", $"did not finish within {limit.TotalSeconds} s");
        }
        return new ToolRun(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Checks a run that may succeed or fail; <paramref name="success"/> checks a successful one.</summary>
    public static string? Check(ToolRun run, Func<ToolRun, string?> success)
    {
        if (run.ExitCode == 0)
            return success(run);
        if (run.ExitCode != 1)
            return $"exit code {run.ExitCode} (expected 0 or 1); stderr: {Clip(run.Stderr)}";
        var lines = run.StderrLines;
        if (lines.Length != 1)
            return $"{lines.Length} stderr lines on failure (expected exactly one): {Clip(run.Stderr)}";
        if (!lines[0].StartsWith("error: ", StringComparison.Ordinal))
            return $"the stderr line does not start with 'error: ': {Clip(lines[0])}";
        if (lines[0].Contains("internal error", StringComparison.Ordinal) || lines[0].Contains("Exception", StringComparison.Ordinal)
            || run.Stderr.Contains("   at ", StringComparison.Ordinal))
            return $"exception text instead of a finding: {Clip(lines[0])}";
        if (run.Stdout.Length != 0)
            return $"stdout on failure: {Clip(run.Stdout)}";
        return null;
    }

    public static string Clip(string s) => s.Length <= 300 ? s.ReplaceLineEndings(" | ") : s[..300].ReplaceLineEndings(" | ") + "...";
}
