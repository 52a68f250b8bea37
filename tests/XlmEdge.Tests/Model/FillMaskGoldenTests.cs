using Xunit.Abstractions;

namespace XlmEdge.Tests.Model;

/// <summary>The CPU backend against the goldens (<see cref="FillMaskGoldenChecks"/>).</summary>
public sealed class FillMaskGoldenTests(ITestOutputHelper output) : FillMaskGoldenChecks(output)
{
    private static readonly Lazy<XlmModel> Tiny = new(() => XlmModel.Load(TestModels.TinyEnfrPath));
    private static readonly Lazy<XlmModel> Other = new(() => XlmModel.Load(TestModels.OtherGeometryPath));

    protected override XlmModel ModelFor(string fixture) => fixture == "tiny-enfr" ? Tiny.Value : Other.Value;
}
