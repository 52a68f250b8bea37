using System.Text.Json;
using XlmEdge.Tests.Cli;
using XlmEdge.Weights;

namespace XlmEdge.Tests.Model;

/// <summary>A NaN weight (a file changed after packing) gives one clear error, never ranked NaNs.</summary>
public sealed class NonFiniteTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xlmedge-nonfinite-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The tiny model (or <paramref name="source"/>) with one element of an F32 tensor set to <paramref name="value"/>.</summary>
    internal static string WithWeight(string dir, string tensor, int element, float value, string? source = null)
    {
        source ??= TestModels.TinyEnfrPath;
        string path = Path.Combine(dir, $"poisoned-{Path.GetFileNameWithoutExtension(source)}-{value}.gguf");
        var bytes = File.ReadAllBytes(source);
        long at;
        using (var file = GgufFile.Open(source))
        {
            Assert.True(file.TryGetTensor(tensor, out var info));
            Assert.Equal(GgufTensorType.F32, info.Type);
            at = info.DataOffset + 4L * element;
        }
        BitConverter.TryWriteBytes(bytes.AsSpan((int)at, 4), value);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>The tiny model with one element (in file order) of an F16 tensor set to <paramref name="bits"/>.</summary>
    private string WithHalfBits(string tensor, int element, ushort bits)
    {
        string path = Path.Combine(_dir, $"poisoned-half-{bits:X4}.gguf");
        var bytes = File.ReadAllBytes(TestModels.TinyEnfrPath);
        using (var file = GgufFile.Open(TestModels.TinyEnfrPath))
        {
            Assert.True(file.TryGetTensor(tensor, out var info));
            Assert.Equal(GgufTensorType.F16, info.Type);
            BitConverter.TryWriteBytes(bytes.AsSpan((int)(info.DataOffset + 2L * element), 2), bits);
        }
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>
    /// The panel kernels widen fp16 without the fix-up of infinity and NaN, so the loader refuses a panel matrix
    /// holding one, naming the tensor and the value's row and column; it never loads and gives finite nonsense.
    /// </summary>
    [Theory]
    [InlineData((ushort)0x7E00, "NaN")]
    [InlineData((ushort)0x7C00, "an infinity")]
    [InlineData((ushort)0xFC00, "an infinity")]
    [InlineData((ushort)0xFD17, "NaN")]
    public void LoadRefusesAnInfinityOrNaNInAnFp16PanelMatrixNamingWhere(ushort bits, string what)
    {
        const string tensor = "transformer.ffns.1.lin2.weight";
        int element;
        int rows, columns;
        using (var file = GgufFile.Open(TestModels.TinyEnfrPath))
        {
            Assert.True(file.TryGetTensor(tensor, out var info));
            (rows, columns) = ((int)info.Shape[0], (int)info.Shape[1]);
            element = (int)(info.ElementCount * 2 / 3);
        }
        var (row, column) = XlmEdge.Kernels.PanelLayout.RowAndColumnOf(element, rows, columns, pairs: true);
        string path = WithHalfBits(tensor, element, bits);
        var e = Assert.Throws<ModelFileException>(() => XlmModel.Load(path));
        Assert.Contains($"tensor '{tensor}' has {what} at row {row}, column {column}", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains($"tensor '{tensor}' has {what}", CliRunner.AssertOneError(CliRunner.Run("", "fill-mask", "-m", path, "a <special1> b")));
        // The largest finite fp16 value is a weight like any other.
        using var model = XlmModel.Load(WithHalfBits(tensor, element, 0x7BFF));
        Assert.Equal(5, model.FillMask("a <special1> b", "en").Masks[0].Candidates.Count);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void FillMaskThrowsModelFileExceptionNamingNonFiniteLogits(float value)
    {
        using var model = XlmModel.Load(WithWeight(_dir, "transformer.layer_norm_emb.weight", 0, value));
        var e = Assert.Throws<ModelFileException>(() => model.FillMask("a <special1> b", "en"));
        Assert.Contains("the model produced non-finite logits", e.Message);
    }

    [Fact]
    public void OneNonFiniteOutputBiasIsEnough()
    {
        using var model = XlmModel.Load(WithWeight(_dir, "pred_layer.proj.bias", 100, float.NaN));
        Assert.Contains("non-finite logits", Assert.Throws<ModelFileException>(() => model.FillMask("a <special1> b", "en")).Message);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void GenerationAndScoringThrowTheSameModelFileException(float value)
    {
        using var model = XlmModel.Load(WithWeight(_dir, "transformer.layer_norm_emb.weight", 0, value, TestModels.TinyClmEnfrPath));
        foreach (var call in new Action[]
                 {
                     () => model.Generate("the cat", "en", 4),
                     () => model.Generate("the cat", "en", 4, new SamplingOptions { Temperature = 1, Seed = 1 }),
                     () => model.Score("the cat", "en"),
                     () => model.NextTokenLogits("the cat", "en"),
                 })
        {
            Assert.Contains("the model produced non-finite logits", Assert.Throws<ModelFileException>(call).Message);
        }
        // One NaN in the output bias reaches only that logit: still refused.
        using var bias = XlmModel.Load(WithWeight(_dir, "pred_layer.proj.bias", 7, float.NaN, TestModels.TinyClmEnfrPath));
        Assert.Throws<ModelFileException>(() => bias.Generate("the cat", "en", 4));
        Assert.Throws<ModelFileException>(() => bias.Score("the cat", "en"));
    }

    [Fact]
    public void TheConsoleSaysTheSameInBothModes()
    {
        string path = WithWeight(_dir, "transformer.layer_norm_emb.weight", 0, float.NaN);
        Assert.Contains("the model produced non-finite logits", CliRunner.AssertOneError(CliRunner.Run("", "fill-mask", "-m", path, "a <special1> b")));

        var r = CliRunner.Run("{\"text\":\"a <special1> b\"}\n{\"text\":\"c <special1>\"}", "fill-mask", "-m", path);
        Assert.Equal(1, r.Exit);
        Assert.Equal(2, r.Lines.Length);
        foreach (var (line, number) in r.Lines.Select((l, i) => (l, i + 1)))
        {
            using var doc = JsonDocument.Parse(line);
            Assert.StartsWith($"line {number}: the model produced non-finite logits", doc.RootElement.GetProperty("error").GetString());
        }
    }
}
