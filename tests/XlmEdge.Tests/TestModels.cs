using XlmEdge.Weights;
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
    private static readonly Lazy<string> TinyEnfrQ8 = new(() => Pack("tiny-enfr", GgufTensorType.I8));
    private static readonly Lazy<string> OtherGeometryQ8 = new(() => Pack("other-geometry", GgufTensorType.I8));
    private static readonly Lazy<string> TinyEnroQ8 = new(() => Pack(Path.Combine("xlm-family", "tiny-enro"), GgufTensorType.I8));
    private static readonly Lazy<string> TinyClmEnfrQ8 = new(() => Pack(Path.Combine("xlm-family", "tiny-clm-enfr"), GgufTensorType.I8));

    public static string TinyEnfrPath => TinyEnfr.Value;
    public static string OtherGeometryPath => OtherGeometry.Value;
    /// <summary>xlm-family/tiny-enro: en + ro fill-mask checkpoint on the en-de-ro vocabulary.</summary>
    public static string TinyEnroPath => TinyEnro.Value;
    /// <summary>xlm-family/tiny-clm-enfr: a causal (CLM) en + fr checkpoint on tiny-enfr's vocabulary.</summary>
    public static string TinyClmEnfrPath => TinyClmEnfr.Value;

    /// <summary>The same checkpoints packed with --dtype q8.</summary>
    public static string TinyEnfrQ8Path => TinyEnfrQ8.Value;
    public static string OtherGeometryQ8Path => OtherGeometryQ8.Value;
    public static string TinyEnroQ8Path => TinyEnroQ8.Value;
    public static string TinyClmEnfrQ8Path => TinyClmEnfrQ8.Value;

    private static string Pack(string fixture, GgufTensorType matrixType = GgufTensorType.F16)
    {
        string suffix = matrixType == GgufTensorType.I8 ? "-q8" : "";
        string output = Path.Combine(Folder, fixture.Replace(Path.DirectorySeparatorChar, '-') + suffix + ".gguf");
        int exit = PackCommand.Run(new PackOptions(Path.Combine(Fixtures.Root, fixture), output, matrixType, Name: Path.GetFileName(fixture)), TextWriter.Null, TextWriter.Null);
        if (exit != 0)
            throw new InvalidOperationException($"packing {fixture} failed with exit code {exit}");
        return output;
    }
}
