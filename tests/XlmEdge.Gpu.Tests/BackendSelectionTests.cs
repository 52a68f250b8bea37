using XlmEdge.Model;
using XlmEdge.Tests;
using XlmEdge.Weights;
using DeviceHalf = ILGPU.Half;

namespace XlmEdge.Gpu.Tests;

/// <summary>Choosing the backend: CUDA where there is none, Auto's fallback, and the device running out of memory.</summary>
[Collection(DeviceCollection.Name)]
public sealed class BackendSelectionTests
{
    [Fact]
    public void CudaIsATypedErrorWhereNoCudaDeviceExistsAndRunsWhereOneDoes()
    {
        var options = new XlmModelOptions { Backend = XlmBackend.Cuda, BackendProvider = IlgpuBackend.Cuda };
        if (IlgpuBackend.IsCudaAvailable(out string why))
        {
            using var model = XlmModel.Load(TestModels.TinyEnfrPath, options);
            Assert.Equal(XlmBackend.Cuda, model.Backend);
            Assert.StartsWith("cuda: ", model.BackendDescription);
        }
        else
        {
            var e = Assert.Throws<BackendUnavailableException>(() => XlmModel.Load(TestModels.TinyEnfrPath, options));
            Assert.Equal(why, e.Message);
            Assert.StartsWith("no CUDA device", e.Message);
        }
    }

    [Fact]
    public void AutoFallsBackToTheCpuAndSaysWhy()
    {
        using var model = XlmModel.Load(TestModels.TinyEnfrPath, new XlmModelOptions { Backend = XlmBackend.Auto, BackendProvider = IlgpuBackend.Cuda });
        if (IlgpuBackend.IsCudaAvailable(out string why))
            Assert.Equal(XlmBackend.Cuda, model.Backend);
        else
        {
            Assert.Equal(XlmBackend.Cpu, model.Backend);
            Assert.StartsWith("cpu: ", model.BackendDescription);
            Assert.Contains($"(auto: {why})", model.BackendDescription);
            Assert.Equal(5, model.FillMask("the <special1> .", "en").Masks[0].Candidates.Count);
        }
    }

    [Fact]
    public void CausalModelsRunOnTheCpu()
    {
        var e = Assert.Throws<BackendUnavailableException>(() => XlmModel.Load(TestModels.TinyClmEnfrPath,
            new XlmModelOptions { Backend = XlmBackend.Cuda, BackendProvider = IlgpuBackend.CpuAccelerator }));
        Assert.Equal("the GPU backend runs masked language models (fill-mask); causal models run on the CPU", e.Message);

        using var model = XlmModel.Load(TestModels.TinyClmEnfrPath, new XlmModelOptions { Backend = XlmBackend.Auto, BackendProvider = IlgpuBackend.CpuAccelerator });
        Assert.Equal(XlmBackend.Cpu, model.Backend);
        Assert.EndsWith("(auto: the GPU backend runs masked language models (fill-mask); causal models run on the CPU)", model.BackendDescription);
        Assert.Equal(model.Config.Geometry.VocabularySize, model.NextTokenLogits("the cat", "en").Length);
    }

    [Fact]
    public void WeightsThatDoNotFitNameTheNeedAndTheFreeMemory()
    {
        long need = WeightBytes();
        var backend = new IlgpuBackend(cpuAccelerator: true, memoryLimit: need - 1);
        var e = Assert.Throws<DeviceOutOfMemoryException>(() =>
            XlmModel.Load(TestModels.TinyEnfrPath, new XlmModelOptions { Backend = XlmBackend.Cuda, BackendProvider = backend }));
        Assert.Equal(need, e.RequiredBytes);
        Assert.Equal(need - 1, e.FreeBytes);
        Assert.StartsWith("the device is out of memory: the model's weights (fp16 matrices) needs ", e.Message);
        Assert.EndsWith(" is free", e.Message);

        // Auto takes the CPU instead
        using var model = XlmModel.Load(TestModels.TinyEnfrPath, new XlmModelOptions { Backend = XlmBackend.Auto, BackendProvider = backend });
        Assert.Equal(XlmBackend.Cpu, model.Backend);
        Assert.Contains("out of memory", model.BackendDescription);
    }

    [Fact]
    public void ACallThatDoesNotFitNamesItsNeedAndTheModelStillServesSmallerOnes()
    {
        using var file = GgufFile.Open(TestModels.TinyEnfrPath);
        var (config, _, _) = ModelFile.Open(file);
        // room for the weights and a 16-token call, not for a 400-token one
        long limit = WeightBytes() + DeviceActivations.Bytes(config.Geometry, 16, 16);
        var backend = new IlgpuBackend(cpuAccelerator: true, memoryLimit: limit);
        using var model = XlmModel.Load(TestModels.TinyEnfrPath, new XlmModelOptions { Backend = XlmBackend.Cuda, BackendProvider = backend });
        using var cpu = XlmModel.Load(TestModels.TinyEnfrPath);

        int[] small = [0, 17, 5, 33, 1];
        var expected = cpu.FillMaskIds(small, 0).Masks[0].Candidates[0];
        Assert.Equal(expected.Id, model.FillMaskIds(small, 0).Masks[0].Candidates[0].Id);

        var large = Enumerable.Range(0, 400).Select(i => 14 + i % 1000).ToArray();
        large[0] = 0;
        large[200] = 5;
        large[^1] = 1;
        var e = Assert.Throws<DeviceOutOfMemoryException>(() => model.FillMaskIds(large, 0));
        Assert.StartsWith("the device is out of memory: a call of 1 input padded to 400 tokens with 1 output row needs ", e.Message);
        Assert.True(e.RequiredBytes > e.FreeBytes);

        var after = model.FillMaskIds(small, 0).Masks[0].Candidates[0];
        Assert.Equal(expected.Id, after.Id);
        Assert.True(Math.Abs(expected.Logit - after.Logit) <= 1e-4f);
    }

    /// <summary>Device bytes of the tiny model's weights as the own kernel keeps them (fp16).</summary>
    private static long WeightBytes()
    {
        using var file = GgufFile.Open(TestModels.TinyEnfrPath);
        return DeviceWeights<DeviceHalf>.Bytes(ModelFile.Open(file).Weights);
    }
}
