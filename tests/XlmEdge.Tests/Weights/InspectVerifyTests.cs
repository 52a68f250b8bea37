using System.Diagnostics;
using System.Text.Json;
using XlmEdge.Weights;

namespace XlmEdge.Tests.Weights;

/// <summary>inspect and verify on good files, the other geometry end to end, and real processes.</summary>
public class InspectVerifyTests
{
    [Fact]
    public void InspectPrintsMetadataAbbreviatedAndTheTensorTable()
    {
        using var tmp = new TempDir();
        var output = WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors"), tmp.File("x.gguf"));
        var r = WeightsTool.Run("inspect", output);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Stderr);
        using var file = GgufFile.Open(output);
        var lines = r.Stdout.Split('\n');
        Assert.Contains(lines, l => l.Contains("general.architecture") && l.Contains("\"xlm\""));
        Assert.Contains(lines, l => l.Contains("xlm.languages") && l.Contains("[\"en\", \"fr\"]"));
        Assert.Contains(lines, l => l.Contains("tokenizer.ggml.tokens") && l.Contains("string[1786]") && l.Contains("... 1778 more"));
        Assert.True(r.Stdout.Length < 20_000, "long arrays should be abbreviated");
        foreach (var t in file.Tensors)
        {
            Assert.Contains(lines, l => l.TrimStart().StartsWith(t.Name + " ", StringComparison.Ordinal)
                && l.Contains("[" + string.Join(", ", t.Shape) + "]") && l.Contains(t.Type.ToString())
                && l.TrimEnd().EndsWith(" " + t.ByteLength, StringComparison.Ordinal) && l.Contains(" " + t.DataOffset + " "));
        }
    }

    [Fact]
    public void InspectJsonHoldsEverything()
    {
        using var tmp = new TempDir();
        var output = WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors"), tmp.File("x.gguf"));
        var r = WeightsTool.Run("inspect", output, "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        using var file = GgufFile.Open(output);
        var root = doc.RootElement;
        Assert.Equal(3, root.GetProperty("version").GetInt32());
        Assert.Equal(file.FileLength, root.GetProperty("file_length").GetInt64());
        var metadata = root.GetProperty("metadata");
        Assert.Equal(file.Metadata.Select(m => m.Key), metadata.EnumerateObject().Select(p => p.Name));
        Assert.Equal(file.GetStringArray("tokenizer.ggml.tokens"), metadata.GetProperty("tokenizer.ggml.tokens").GetProperty("value").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(file.GetUInt32("xlm.vocab_size"), metadata.GetProperty("xlm.vocab_size").GetProperty("value").GetUInt32());
        Assert.Equal("uint32", metadata.GetProperty("xlm.vocab_size").GetProperty("type").GetString());
        Assert.Equal(file.GetFloat32("xlm.attention.layer_norm_epsilon"), metadata.GetProperty("xlm.attention.layer_norm_epsilon").GetProperty("value").GetSingle());
        var tensors = root.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(file.Tensors.Count, tensors.Count);
        for (int i = 0; i < tensors.Count; i++)
        {
            Assert.Equal(file.Tensors[i].Name, tensors[i].GetProperty("name").GetString());
            Assert.Equal(file.Tensors[i].Type.ToString(), tensors[i].GetProperty("type").GetString());
            Assert.Equal(file.Tensors[i].Shape, tensors[i].GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
            Assert.Equal(file.Tensors[i].DataOffset, tensors[i].GetProperty("offset").GetInt64());
            Assert.Equal(file.Tensors[i].ByteLength, tensors[i].GetProperty("bytes").GetInt64());
        }
    }

    [Fact]
    public void OtherGeometryPacksInspectsAndVerifies()
    {
        using var tmp = new TempDir();
        var output = WeightsTool.Pack(tmp.Checkpoint(Path.Combine(Fixtures.Root, "other-geometry"), "model.safetensors"), tmp.File("x.gguf"));
        var inspect = WeightsTool.Run("inspect", output);
        Assert.Equal(0, inspect.ExitCode);
        Assert.Contains("transformer.attentions.2.q_lin.weight", inspect.Stdout);
        Assert.DoesNotContain("lang_embeddings", inspect.Stdout);
        var verify = WeightsTool.Run("verify", output);
        Assert.Equal(0, verify.ExitCode);
        Assert.StartsWith("ok: ", verify.Stdout);
        using var file = GgufFile.Open(output);
        Assert.Equal(53, file.Tensors.Count);
        Assert.False(file.GetBool("xlm.use_lang_emb"));
        Assert.Equal(["en"], file.GetStringArray("xlm.languages"));
    }

    [Theory]
    [InlineData("inspect")]
    [InlineData("verify")]
    [InlineData("inspect a.gguf b.gguf")]
    [InlineData("verify a.gguf --json")]
    [InlineData("inspect a.gguf --yaml")]
    public void InspectAndVerifyUsageErrorsExitTwo(string commandLine)
    {
        var r = WeightsTool.Run(commandLine.Split(' '));
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("error: ", r.Stderr);
    }

    [Fact]
    public void TheBuiltToolRunsAsAProcess()
    {
        using var tmp = new TempDir();
        string dll = typeof(XlmEdge.WeightsTool.Program).Assembly.Location;
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "pytorch_model.bin");
        var pack = RunProcess(dll, "pack", dir, "-o", tmp.File("x.gguf"));
        Assert.True(pack.Exit == 0, pack.Stderr);
        var verify = RunProcess(dll, "verify", tmp.File("x.gguf"));
        Assert.Equal(0, verify.Exit);
        Assert.StartsWith("ok: ", verify.Stdout);
        File.WriteAllText(Path.Combine(dir, "config.json"), "{");
        var bad = RunProcess(dll, "pack", dir, "-o", tmp.File("y.gguf"));
        Assert.Equal(1, bad.Exit);
        Assert.Single(bad.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: config.json", bad.Stderr);
        Assert.Equal(2, RunProcess(dll).Exit);
    }

    private static (int Exit, string Stdout, string Stderr) RunProcess(string dll, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [dll, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), "xlmedge-weights did not finish");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
