using XlmEdge.Tests;
using XlmEdge.Tests.Model;
using Xunit.Abstractions;

namespace XlmEdge.Gpu.Tests;

/// <summary>
/// The GPU backend against the fill-mask goldens, with the CPU path's bounds
/// (<see cref="FillMaskGoldenChecks"/>): on ILGPU's CPU accelerator in CI, on CUDA on a GPU machine.
/// </summary>
[Collection(DeviceCollection.Name)]
public sealed class DeviceGoldenTests(ITestOutputHelper output) : FillMaskGoldenChecks(output)
{
    private static readonly Lazy<XlmModel> Tiny = new(() => TestDevice.Load(TestModels.TinyEnfrPath));
    private static readonly Lazy<XlmModel> Other = new(() => TestDevice.Load(TestModels.OtherGeometryPath));
    private static readonly Lazy<XlmModel> Enro = new(() => TestDevice.Load(TestModels.TinyEnroPath));

    protected override XlmModel ModelFor(string fixture)
    {
        var model = fixture switch
        {
            "tiny-enfr" => Tiny.Value,
            TinyEnro => Enro.Value,
            _ => Other.Value,
        };
        Assert.Equal(XlmBackend.Cuda, model.Backend);
        return model;
    }
}
