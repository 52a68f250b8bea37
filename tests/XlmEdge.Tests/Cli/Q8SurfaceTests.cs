using System.Text.Json;

namespace XlmEdge.Tests.Cli;

/// <summary>A q8 file opens like any other through the C# API and the console, which says what runs.</summary>
public sealed class Q8SurfaceTests
{
    private const string Text = "the capital of france is <special1> .";

    [Fact]
    public void TheConsoleAnswersAsTheLibraryDoesAndVerboseNamesTheWeightsAndKernels()
    {
        using var model = XlmModel.Load(TestModels.TinyEnfrQ8Path);
        Assert.Equal("q8", model.WeightType);
        var expected = model.FillMask(Text, "en", topK: 3).Masks.Single().Candidates;

        var r = CliRunner.Run($"{{\"text\":\"{Text}\"}}", "fill-mask", "-m", TestModels.TinyEnfrQ8Path, "-k", "3", "--verbose");
        Assert.Equal(0, r.Exit);
        Assert.Contains($"note: backend: cpu: {XlmRuntime.SimdPath}, ", r.Stderr);
        Assert.Contains($"; weights: q8, int8 kernels: {XlmRuntime.Int8Path}", r.Stderr);
        var candidates = JsonDocument.Parse(r.Lines.Single()).RootElement.GetProperty("masks")[0].GetProperty("candidates");
        Assert.Equal(expected.Select(c => c.Id), candidates.EnumerateArray().Select(c => c.GetProperty("token").GetInt32()));
        Assert.Equal(expected.Select(c => (double)c.Logit), candidates.EnumerateArray().Select(c => c.GetProperty("logit").GetDouble()), (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Max(1, Math.Abs(a)));
    }

    [Fact]
    public void VerboseOnAnFp16FileNamesItsSimdPath()
    {
        var r = CliRunner.Run("", "fill-mask", "-m", TestModels.TinyEnfrPath, "--verbose", Text);
        Assert.Equal(0, r.Exit);
        Assert.Contains($"note: backend: cpu: {XlmRuntime.SimdPath}, ", r.Stderr);
        Assert.EndsWith("; weights: f16", r.Stderr.Split('\n').Single(l => l.StartsWith("note: backend:", StringComparison.Ordinal)));
    }
}
