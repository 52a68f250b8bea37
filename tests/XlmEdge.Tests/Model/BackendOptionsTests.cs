namespace XlmEdge.Tests.Model;

/// <summary>XlmModelOptions.Backend without the GPU package: what a Native AOT app gets.</summary>
public sealed class BackendOptionsTests
{
    [Fact]
    public void CpuIsTheDefaultAndSaysWhichKernelsRun()
    {
        using var model = XlmModel.Load(TestModels.TinyEnfrPath, new XlmModelOptions { Threads = 1 });
        Assert.Equal(XlmBackend.Cpu, model.Backend);
        Assert.Matches(@"^cpu: \S.*, 1 thread$", model.BackendDescription);
    }

    [Fact]
    public void CudaWithoutABackendProviderIsATypedError()
    {
        var e = Assert.Throws<BackendUnavailableException>(() =>
            XlmModel.Load(TestModels.TinyEnfrPath, new XlmModelOptions { Backend = XlmBackend.Cuda }));
        Assert.StartsWith("no GPU backend: XlmModelOptions.BackendProvider is not set", e.Message);
    }

    [Fact]
    public void AutoWithoutABackendProviderRunsOnTheCpuAndSaysWhy()
    {
        using var model = XlmModel.Load(TestModels.TinyEnfrPath, new XlmModelOptions { Backend = XlmBackend.Auto, Threads = 2 });
        Assert.Equal(XlmBackend.Cpu, model.Backend);
        Assert.Contains("(auto: no GPU backend: XlmModelOptions.BackendProvider is not set", model.BackendDescription);
        Assert.Single(model.FillMask("the <special1> .", "en").Masks);
    }

    [Fact]
    public void AnUndefinedBackendIsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            XlmModel.Load(TestModels.TinyEnfrPath, new XlmModelOptions { Backend = (XlmBackend)7 }));
    }
}
