using Xunit.Abstractions;

namespace XlmEdge.Tests.Model;

/// <summary>The CPU backend against the goldens (<see cref="FillMaskGoldenChecks"/>).</summary>
public sealed class FillMaskGoldenTests(ITestOutputHelper output) : FillMaskGoldenChecks(output)
{
    private static readonly Lazy<XlmModel> Tiny = new(() => XlmModel.Load(TestModels.TinyEnfrPath));
    private static readonly Lazy<XlmModel> Other = new(() => XlmModel.Load(TestModels.OtherGeometryPath));
    private static readonly Lazy<XlmModel> Enro = new(() => XlmModel.Load(TestModels.TinyEnroPath));

    protected override XlmModel ModelFor(string fixture) => fixture switch
    {
        "tiny-enfr" => Tiny.Value,
        TinyEnro => Enro.Value,
        _ => Other.Value,
    };
}
