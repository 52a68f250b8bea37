namespace XlmEdge.Tests.Cli;

/// <summary>Runs the <c>xlmedge</c> console in-process with captured streams.</summary>
internal static class CliRunner
{
    public sealed record Result(int Exit, string Stdout, string Stderr)
    {
        public string[] Lines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public static Result Run(string stdin, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = XlmEdge.Cli.Program.Run(args, new StringReader(stdin), stdout, stderr);
        return new Result(exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Asserts the contract for bad input: exit 1 and exactly one "error:" line on stderr.</summary>
    public static string AssertOneError(Result r, int exit = 1)
    {
        Assert.Equal(exit, r.Exit);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("error: ", lines[0]);
        if (exit == 1)
            Assert.Single(lines);
        return lines[0];
    }
}
