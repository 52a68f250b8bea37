using XlmEdge.WeightsTool.Commands;

namespace XlmEdge.Tests;

/// <summary>The fixture checkpoints packed once per test run with the weights tool, in a temp folder.</summary>
internal static class TestModels
{
    private static readonly string Folder = Directory.CreateTempSubdirectory("xlmedge-test-models-").FullName;
    private static readonly Lazy<string> TinyEnfr = new(() => Pack("tiny-enfr"));
    private static readonly Lazy<string> OtherGeometry = new(() => Pack("other-geometry"));
    private static readonly Lazy<string> TinyEnro = new(() => Pack(Path.Combine("xlm-family", "tiny-enro")));
    private static readonly Lazy<string> TinyClmEnfr = new(() => Pack(Path.Combine("xlm-family", "tiny-clm-enfr")));

    public static string TinyEnfrPath => TinyEnfr.Value;
    public static string OtherGeometryPath => OtherGeometry.Value;
    /// <summary>xlm-family/tiny-enro: en + ro fill-mask checkpoint on the en-de-ro vocabulary.</summary>
    public static string TinyEnroPath => TinyEnro.Value;
    /// <summary>xlm-family/tiny-clm-enfr: a causal (CLM) en + fr checkpoint on tiny-enfr's vocabulary.</summary>
    public static string TinyClmEnfrPath => TinyClmEnfr.Value;

    private static string Pack(string fixture)
    {
        string output = Path.Combine(Folder, fixture.Replace(Path.DirectorySeparatorChar, '-') + ".gguf");
        int exit = PackCommand.Run(new PackOptions(Path.Combine(Fixtures.Root, fixture), output, Name: Path.GetFileName(fixture)), TextWriter.Null, TextWriter.Null);
        if (exit != 0)
            throw new InvalidOperationException($"packing {fixture} failed with exit code {exit}");
        return output;
    }
}
