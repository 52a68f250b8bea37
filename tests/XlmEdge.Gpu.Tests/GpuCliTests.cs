using XlmEdge.Tests;
using XlmEdge.Tests.Cli;

namespace XlmEdge.Gpu.Tests;

/// <summary>xlmedge-gpu, the JIT-hosted console: --backend cuda and auto with the real CUDA provider.</summary>
[Collection(DeviceCollection.Name)]
public sealed class GpuCliTests
{
    [Fact]
    public void CudaWithoutACudaDeviceIsOneErrorLineAndExitOne()
    {
        var r = CliRunner.Run("", "fill-mask", "-m", TestModels.TinyEnfrPath, "--backend", "cuda", "the <special1> .");
        if (IlgpuBackend.IsCudaAvailable(out string why))
        {
            Assert.Equal(0, r.Exit);
            Assert.Contains("mask at position", r.Stdout);
        }
        else
        {
            Assert.Equal($"error: {why}", CliRunner.AssertOneError(r));
            Assert.Empty(r.Stdout);
        }
    }

    [Fact]
    public void AutoSaysWhichBackendRunsWhenVerbose()
    {
        var r = CliRunner.Run("", "fill-mask", "-m", TestModels.TinyEnfrPath, "--backend", "auto", "--verbose", "the <special1> .");
        Assert.Equal(0, r.Exit);
        Assert.Contains("mask at position", r.Stdout);
        if (IlgpuBackend.IsCudaAvailable(out string why))
            Assert.Contains("note: backend: cuda: ", r.Stderr);
        else
            Assert.Contains($"note: backend: cpu: ", r.Stderr);
        if (!IlgpuBackend.IsCudaAvailable(out why))
            Assert.Contains($"(auto: {why})", r.Stderr);
    }
}
