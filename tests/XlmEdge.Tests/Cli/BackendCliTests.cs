namespace XlmEdge.Tests.Cli;

/// <summary>--backend in the Native AOT console, which has no GPU backend (xlmedge-gpu has; tests/XlmEdge.Gpu.Tests).</summary>
public sealed class BackendCliTests
{
    [Fact]
    public void CudaIsOneErrorLineAndExitOne()
    {
        var r = CliRunner.Run("", "fill-mask", "-m", TestModels.TinyEnfrPath, "--backend", "cuda", "the <special1> .");
        string error = CliRunner.AssertOneError(r);
        Assert.Equal("error: this xlmedge has no GPU backend (it is the console built for Native AOT); --backend cuda needs xlmedge-gpu (src/XlmEdge.Cli.Gpu)", error);
        Assert.Empty(r.Stdout);
    }

    [Fact]
    public void CudaWithoutAModelIsStillOnlyTheErrorLine()
    {
        // no -m: the refusal comes before the demo model is looked for (and before its note)
        var r = CliRunner.Run("", "fill-mask", "--backend", "cuda", "the <special1> .");
        Assert.StartsWith("error: this xlmedge has no GPU backend", CliRunner.AssertOneError(r));
        Assert.Empty(r.Stdout);
    }

    [Fact]
    public void AutoRunsOnTheCpuAndSaysSoWhenVerbose()
    {
        var r = CliRunner.Run("", "fill-mask", "-m", TestModels.TinyEnfrPath, "--backend", "auto", "--verbose", "the <special1> .");
        Assert.Equal(0, r.Exit);
        Assert.Contains("note: backend: cpu: ", r.Stderr);
        Assert.Contains("(auto: no GPU backend", r.Stderr);
        Assert.Contains("mask at position", r.Stdout);

        var quiet = CliRunner.Run("", "fill-mask", "-m", TestModels.TinyEnfrPath, "--backend", "auto", "the <special1> .");
        Assert.DoesNotContain("backend", quiet.Stderr);
    }

    [Fact]
    public void AnUnknownBackendIsAUsageError()
    {
        var r = CliRunner.Run("", "fill-mask", "-m", TestModels.TinyEnfrPath, "--backend", "gpu", "the <special1> .");
        Assert.Equal("error: option '--backend' takes cpu, cuda or auto, not 'gpu'", CliRunner.AssertOneError(r, exit: 2));
    }
}
