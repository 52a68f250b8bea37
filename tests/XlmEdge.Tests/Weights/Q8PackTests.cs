using System.Text;
using XlmEdge.Kernels;
using XlmEdge.Model;
using XlmEdge.Weights;

namespace XlmEdge.Tests.Weights;

/// <summary>pack --dtype q8: the layout, the values, every checkpoint format, inspect and verify, and damaged q8 files.</summary>
public class Q8PackTests
{
    private static readonly string[] WeightFiles = ["model.safetensors", "pytorch_model.bin", "pytorch_model_legacy.bin"];

    [Fact]
    public void EachWeightFormatPacksToTheSameQ8BytesAndLoads()
    {
        using var tmp = new TempDir();
        var paths = WeightFiles.Select((w, i) => WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, w), tmp.File($"q{i}.gguf"), "q8")).ToList();
        var bytes = paths.Select(File.ReadAllBytes).ToList();
        Assert.Equal(bytes[0], bytes[1]);
        Assert.Equal(bytes[0], bytes[2]);
        using var model = XlmModel.Load(paths[2]);
        Assert.Equal(5, model.FillMask("the capital of france is <special1> .", "en").Masks[0].Candidates.Count);
    }

    [Theory]
    [InlineData("tiny-enfr")]
    [InlineData("other-geometry")]
    public void ProjectionsAreInt8WithARowScaleAndTheRestStaysFloat(string fixture)
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Path.Combine(Fixtures.Root, fixture), "model.safetensors");
        var q8 = WeightsTool.Pack(dir, tmp.File("q8.gguf"), "q8");
        var f32 = WeightsTool.Pack(dir, tmp.File("f32.gguf"), "f32");
        using var file = GgufFile.Open(q8);
        using var reference = GgufFile.Open(f32);
        var geometry = ModelMetadata.Read(file).Geometry;
        int matrices = 0;
        foreach (var t in XlmTensors.In(geometry))
        {
            Assert.True(file.TryGetTensor(t.GgufName, out var info));
            var expected = !t.Spec.IsMatrix ? GgufTensorType.F32 : t.Spec.IsProjection ? GgufTensorType.I8 : GgufTensorType.F16;
            Assert.Equal(expected, info.Type);
            if (info.Type != GgufTensorType.I8)
                continue;
            matrices++;
            Assert.True(file.TryGetTensor(t.Spec.ScaleNameOf(t.Block), out var scaleInfo));
            Assert.Equal(GgufTensorType.F32, scaleInfo.Type);
            Assert.Equal([t.Shape[0]], scaleInfo.Shape);
            // Every value within half a step of the checkpoint's, and each row's largest |value| at 127 steps.
            var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(file.GetBytes(info));
            var scales = file.GetFloat32(scaleInfo);
            int rows = (int)t.Shape[0], columns = (int)t.Shape[1];
            // The f32 file stores the blocks' Linears in panels; q8 keeps every matrix row-major.
            ReadOnlySpan<float> original = reference.GetFloat32Tensor(t.GgufName);
            if (t.Spec.Role == TensorRole.Linear)
            {
                var rowMajor = new float[rows * columns];
                PanelLayout.Unpack(original, rows, columns, rowMajor);
                original = rowMajor;
            }
            for (int r = 0; r < rows; r++)
            {
                var row = original.Slice(r * columns, columns);
                float max = 0;
                foreach (float v in row)
                    max = Math.Max(max, Math.Abs(v));
                Assert.Equal(max / 127f, scales[r]);
                int largest = 0;
                for (int c = 0; c < columns; c++)
                {
                    sbyte q = values[r * columns + c];
                    largest = Math.Max(largest, Math.Abs((int)q));
                    Assert.True(Math.Abs(q * scales[r] - row[c]) <= scales[r] * 0.5001f, $"{t.GgufName}[{r}, {c}]: {q} x {scales[r]} vs {row[c]}");
                }
                Assert.Equal(max == 0 ? 0 : 127, largest);
            }
        }
        Assert.Equal(6 * geometry.Layers + 1, matrices);
        Assert.Equal(XlmTensors.CountIn(geometry) + matrices, file.Tensors.Count);
    }

    [Fact]
    public void InspectAndVerifyUnderstandQ8()
    {
        using var tmp = new TempDir();
        var output = WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, "pytorch_model.bin"), tmp.File("x.gguf"), "q8");
        var inspect = WeightsTool.Run("inspect", output);
        Assert.Equal(0, inspect.ExitCode);
        var lines = inspect.Stdout.Split('\n');
        Assert.Contains(lines, l => l.TrimStart().StartsWith("transformer.ffns.1.lin2.weight ", StringComparison.Ordinal) && l.Contains(" I8 ") && l.Contains("[64, 256]"));
        Assert.Contains(lines, l => l.TrimStart().StartsWith("transformer.ffns.1.lin2.weight_scale ", StringComparison.Ordinal) && l.Contains(" F32 ") && l.Contains("[64]"));
        Assert.Contains(lines, l => l.TrimStart().StartsWith("transformer.position_embeddings.weight ", StringComparison.Ordinal) && l.Contains(" F16 "));
        var verify = WeightsTool.Run("verify", output);
        Assert.Equal(0, verify.ExitCode);
        Assert.StartsWith("ok: ", verify.Stdout);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("nan")]
    [InlineData("infinity")]
    [InlineData("f16 type")]
    public void DamagedScalesAreRefusedByLoadAndVerify(string damage)
    {
        using var tmp = new TempDir();
        var output = WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors"), tmp.File("x.gguf"), "q8");
        const string Scale = "transformer.attentions.1.v_lin.weight_scale";
        long dataOffset;
        using (var file = GgufFile.Open(output))
        {
            Assert.True(file.TryGetTensor(Scale, out var info));
            dataOffset = info.DataOffset;
        }
        var bytes = File.ReadAllBytes(output);
        // The tensor info: name, dims (uint32), one uint64 per dim, type (uint32), offset.
        int nameAt = IndexOf(bytes, Encoding.ASCII.GetBytes(Scale));
        long typeOffset = nameAt + Scale.Length + 4 + 8;
        switch (damage)
        {
            case "missing": bytes[nameAt + Scale.Length - 1] = (byte)'x'; break; // now named ..._scalx: the scale is missing and an unknown tensor is there
            case "nan": BitConverter.TryWriteBytes(bytes.AsSpan((int)dataOffset + 4 * 7), float.NaN); break;
            case "infinity": BitConverter.TryWriteBytes(bytes.AsSpan((int)dataOffset), float.PositiveInfinity); break;
            default: BitConverter.TryWriteBytes(bytes.AsSpan((int)typeOffset), (uint)GgufTensorType.F16); break;
        }
        File.WriteAllBytes(output, bytes);
        var e = Assert.Throws<ModelFileException>(() => XlmModel.Load(output).Dispose());
        Assert.Contains(Scale, e.Message);
        var verify = WeightsTool.Run("verify", output);
        Assert.Contains(Scale, verify.SingleError());
    }

    [Fact]
    public void Int8LookupTablesAreRefused()
    {
        // Only the projections may be I8: a position-embedding table stored I8 is not a model this runtime reads.
        using var tmp = new TempDir();
        var output = WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors"), tmp.File("x.gguf"), "f32");
        var bytes = File.ReadAllBytes(output);
        const string Name = "transformer.position_embeddings.weight";
        int nameAt = IndexOf(bytes, Encoding.ASCII.GetBytes(Name));
        BitConverter.TryWriteBytes(bytes.AsSpan(nameAt + Name.Length + 4 + 16), (uint)GgufTensorType.I8);
        File.WriteAllBytes(output, bytes);
        var e = Assert.Throws<ModelFileException>(() => XlmModel.Load(output).Dispose());
        Assert.Contains($"tensor '{Name}' has type I8, expected F16 or F32", e.Message);
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        int at = haystack.AsSpan().IndexOf(needle);
        Assert.True(at >= 0);
        Assert.Equal(-1, haystack.AsSpan(at + 1).IndexOf(needle)); // the name occurs once: in the tensor table
        return at;
    }
}
