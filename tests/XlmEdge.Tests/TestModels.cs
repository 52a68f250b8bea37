using XlmEdge.WeightsTool.Commands;

namespace XlmEdge.Tests;

/// <summary>The fixture checkpoints packed once per test run with the weights tool, in a temp folder.</summary>
internal static class TestModels
{
    private static readonly string Folder = Directory.CreateTempSubdirectory("xlmedge-test-models-").FullName;
    private static readonly Lazy<string> TinyEnfr = new(() => Pack("tiny-enfr"));
    private static readonly Lazy<string> OtherGeometry = new(() => Pack("other-geometry"));

    public static string TinyEnfrPath => TinyEnfr.Value;
    public static string OtherGeometryPath => OtherGeometry.Value;

    private static string Pack(string fixture)
    {
        string output = Path.Combine(Folder, fixture + ".gguf");
        int exit = PackCommand.Run(new PackOptions(Path.Combine(Fixtures.Root, fixture), output, Name: fixture), TextWriter.Null, TextWriter.Null);
        if (exit != 0)
            throw new InvalidOperationException($"packing {fixture} failed with exit code {exit}");
        return output;
    }
}
