using System.IO.Hashing;

namespace XlmEdge.Tests.Weights;

/// <summary>xlmedge-weights pack: formats, options, atomic output and the command line.</summary>
public class PackTests
{
    private static readonly string[] WeightFiles = ["model.safetensors", "pytorch_model.bin", "pytorch_model_legacy.bin"];

    [Fact]
    public void EachWeightFormatPacksToTheSameBytes()
    {
        using var tmp = new TempDir();
        var files = WeightFiles.Select((w, i) =>
            File.ReadAllBytes(WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, w), tmp.File($"out{i}.gguf")))).ToList();
        Assert.True(files[0].Length > 0);
        Assert.Equal(files[0], files[1]);
        Assert.Equal(files[0], files[2]);
    }

    [Fact]
    public void LegacyFileSavedUnderTheZipNameIsRecognisedByContent()
    {
        using var tmp = new TempDir();
        var reference = File.ReadAllBytes(WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors"), tmp.File("a.gguf")));
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "pytorch_model_legacy.bin", saveAs: "pytorch_model.bin");
        Assert.Equal(reference, File.ReadAllBytes(WeightsTool.Pack(dir, tmp.File("b.gguf"))));
    }

    [Fact]
    public void ZipEntriesUnderAnyFolderNameAreFound()
    {
        using var tmp = new TempDir();
        var reference = File.ReadAllBytes(WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors"), tmp.File("a.gguf")));
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, null);
        using (var input = System.IO.Compression.ZipFile.OpenRead(Path.Combine(Fixtures.TinyEnfr, "pytorch_model.bin")))
        using (var output = System.IO.Compression.ZipFile.Open(Path.Combine(dir, "pytorch_model.bin"), System.IO.Compression.ZipArchiveMode.Create))
        {
            foreach (var entry in input.Entries)
            {
                Assert.StartsWith("pytorch_model/", entry.FullName);
                var copy = output.CreateEntry("archive/" + entry.FullName["pytorch_model/".Length..], System.IO.Compression.CompressionLevel.NoCompression);
                using var from = entry.Open();
                using var to = copy.Open();
                from.CopyTo(to);
            }
        }
        Assert.Equal(reference, File.ReadAllBytes(WeightsTool.Pack(dir, tmp.File("b.gguf"))));
    }

    [Fact]
    public void SafetensorsIsPreferredWhenSeveralWeightFilesArePresent()
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "pytorch_model.bin");
        File.Copy(Path.Combine(Fixtures.TinyEnfr, "model.safetensors"), Path.Combine(dir, "model.safetensors"));
        var r = WeightsTool.Run("pack", dir, "-o", tmp.File("x.gguf"));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("reading model.safetensors", r.Stderr);
    }

    [Fact]
    public void PackReportsTheContentHashItWrote()
    {
        using var tmp = new TempDir();
        var r = WeightsTool.Run("pack", tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors"), "-o", tmp.File("x.gguf"));
        Assert.Equal(0, r.ExitCode);
        var bytes = File.ReadAllBytes(tmp.File("x.gguf"));
        var marker = "xxh3-64:"u8.ToArray();
        int at = bytes.AsSpan().IndexOf(marker) + marker.Length;
        string digits = System.Text.Encoding.ASCII.GetString(bytes, at, 16);
        Assert.Contains("xxh3-64:" + digits, r.Stdout);
        "0000000000000000"u8.CopyTo(bytes.AsSpan(at));
        Assert.Equal(XxHash3.HashToUInt64(bytes).ToString("x16"), digits);
    }

    [Fact]
    public void F32OutputStoresEveryTensorAsF32AndIsLarger()
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        long f16 = new FileInfo(WeightsTool.Pack(dir, tmp.File("h.gguf"), "f16")).Length;
        long f32 = new FileInfo(WeightsTool.Pack(dir, tmp.File("s.gguf"), "f32")).Length;
        var source = TestSafetensors.Read(Path.Combine(dir, "model.safetensors"));
        long sourceBytes = source.Values.Sum(t => (long)t.Data.Length);
        long matrixBytes = source.Values.Where(t => t.Shape.Length == 2).Sum(t => (long)t.Data.Length);
        Assert.True(f32 >= sourceBytes, $"f32 file {f32} < tensor bytes {sourceBytes}");
        Assert.True(f32 - f16 >= matrixBytes / 2, "f16 output should halve the matrices");
    }

    [Fact]
    public void FailedPackLeavesNoPartialFileAndKeepsAnExistingOne()
    {
        using var tmp = new TempDir();
        var good = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        var output = WeightsTool.Pack(good, tmp.File("model.gguf"));
        var before = File.ReadAllBytes(output);

        var bad = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        var tensors = TestSafetensors.Read(Path.Combine(bad, "model.safetensors"));
        // the last tensor in output order is poisoned, so the failure comes after most data is written
        var bias = tensors["pred_layer.proj.bias"].ToFloats();
        bias[^1] = float.NaN;
        tensors["pred_layer.proj.bias"] = SafetensorsEntry.FromFloats(tensors["pred_layer.proj.bias"].Shape, bias);
        TestSafetensors.Write(Path.Combine(bad, "model.safetensors"), tensors);

        var r = WeightsTool.Run("pack", bad, "-o", output);
        Assert.Contains("pred_layer.proj.bias", r.SingleError());
        Assert.Equal(before, File.ReadAllBytes(output));
        Assert.Equal(["model.gguf"], Directory.GetFiles(tmp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void ReplacesAnExistingFileOnSuccess()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("model.gguf"), "old");
        WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors"), tmp.File("model.gguf"));
        Assert.True(new FileInfo(tmp.File("model.gguf")).Length > 1000);
        Assert.Single(Directory.GetFiles(tmp.Path));
    }

    [Theory]
    [InlineData("")]
    [InlineData("unpack")]
    [InlineData("pack")]
    [InlineData("pack dir")]
    [InlineData("pack dir -o")]
    [InlineData("pack dir -o x.gguf --dtype q8")]
    [InlineData("pack dir -o x.gguf --frobnicate")]
    [InlineData("pack dir other -o x.gguf")]
    [InlineData("pack dir -o x.gguf -o y.gguf")]
    public void UsageErrorsExitTwoWithOneErrorLineAndTheUsage(string commandLine)
    {
        var r = WeightsTool.Run(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("error: ", r.Stderr);
        Assert.Single(r.StderrLines, l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Contains("--help", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void HelpGoesToStdoutWithExitZero()
    {
        var r = WeightsTool.Run("--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("pack <HF_DIR>", r.Stdout);
        Assert.Contains("Exit codes:", r.Stdout);
    }

    [Fact]
    public void MissingCheckpointFolderIsBadInput()
    {
        using var tmp = new TempDir();
        var r = WeightsTool.Run("pack", tmp.File("nope"), "-o", tmp.File("x.gguf"));
        Assert.Contains("not found", r.SingleError());
    }

    [Fact]
    public void MissingOutputFolderOrAFolderAsOutputIsBadInput()
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        Assert.Contains("does not exist", WeightsTool.Run("pack", dir, "-o", tmp.File("nope/x.gguf")).SingleError());
        Directory.CreateDirectory(tmp.File("out"));
        Assert.Contains("is a folder", WeightsTool.Run("pack", dir, "-o", tmp.File("out")).SingleError());
        Assert.Empty(Directory.GetFiles(tmp.Path));
    }

    [Fact]
    public void FolderWithoutWeightsIsBadInput()
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        File.Delete(Path.Combine(dir, "model.safetensors"));
        Assert.Contains("no weight file", WeightsTool.Run("pack", dir, "-o", tmp.File("x.gguf")).SingleError());
    }
}
