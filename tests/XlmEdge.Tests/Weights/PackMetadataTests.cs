using XlmEdge.Weights;

namespace XlmEdge.Tests.Weights;

/// <summary>GGUF metadata by convention: name, licence, source, file type, and nothing from the folder's name.</summary>
public class PackMetadataTests
{
    private static string? Value(string gguf, string key)
    {
        using var file = GgufFile.Open(gguf);
        return file.TryGetMetadata(key, out var entry) ? entry.Value.ToString() : null;
    }

    private static WeightsTool.Result Pack(TempDir tmp, string dir, params string[] options) =>
        WeightsTool.Run(["pack", dir, "-o", tmp.File("x.gguf"), .. options]);

    [Fact]
    public void RenamingTheCheckpointFolderDoesNotChangeTheFile()
    {
        using var tmp = new TempDir();
        var a = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        var b = Path.Combine(Path.GetDirectoryName(a)!, "renamed-folder");
        Directory.Move(tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors"), b);
        Assert.Equal(File.ReadAllBytes(WeightsTool.Pack(a, tmp.File("a.gguf"))), File.ReadAllBytes(WeightsTool.Pack(b, tmp.File("b.gguf"))));
        Assert.Null(Value(tmp.File("a.gguf"), GgufFormat.KeyName));
    }

    [Theory]
    [InlineData("xlm-mlm-enfr-1024", "xlm-mlm-enfr-1024", null, null)]
    [InlineData("FacebookAI/xlm-mlm-enfr-1024", "xlm-mlm-enfr-1024", "FacebookAI/xlm-mlm-enfr-1024", null)]
    [InlineData("https://example.org/models/xlm-tiny/", "xlm-tiny", null, "https://example.org/models/xlm-tiny/")]
    public void NameGivesTheNameAndTheSource(string option, string name, string? repository, string? url)
    {
        using var tmp = new TempDir();
        var r = Pack(tmp, tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors"), "--name", option);
        Assert.Equal(0, r.ExitCode);
        Assert.DoesNotContain("no model name", r.Stderr);
        Assert.Equal(name, Value(tmp.File("x.gguf"), GgufFormat.KeyName));
        Assert.Equal(repository, Value(tmp.File("x.gguf"), GgufFormat.KeySourceRepository));
        Assert.Equal(url, Value(tmp.File("x.gguf"), GgufFormat.KeySourceUrl));
    }

    [Theory]
    [InlineData("FacebookAI/xlm-mlm-enfr-1024", "xlm-mlm-enfr-1024", "FacebookAI/xlm-mlm-enfr-1024")]
    [InlineData("/home/someone/models/my-xlm", "my-xlm", null)]
    public void WithoutNameTheConfigsNameOrPathIsUsed(string nameOrPath, string name, string? repository)
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        var config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"model_type\": \"xlm\",", $"\"model_type\": \"xlm\", \"_name_or_path\": \"{nameOrPath}\","));
        Assert.Equal(0, Pack(tmp, dir).ExitCode);
        Assert.Equal(name, Value(tmp.File("x.gguf"), GgufFormat.KeyName));
        Assert.Equal(repository, Value(tmp.File("x.gguf"), GgufFormat.KeySourceRepository));
    }

    [Fact]
    public void TheLicenceComesFromTheModelCardUnlessGiven()
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        File.WriteAllText(Path.Combine(dir, "README.md"), "---\nlanguage:\n- en\n- fr\nlicense: cc-by-nc-4.0 # the weights\n---\n# xlm\nlicense: not-front-matter\n");
        var r = Pack(tmp, dir);
        Assert.Equal(0, r.ExitCode);
        Assert.DoesNotContain("no licence", r.Stderr);
        Assert.Equal("cc-by-nc-4.0", Value(tmp.File("x.gguf"), GgufFormat.KeyLicense));
        Assert.Equal(0, Pack(tmp, dir, "--license", "mit").ExitCode);
        Assert.Equal("mit", Value(tmp.File("x.gguf"), GgufFormat.KeyLicense));
    }

    [Fact]
    public void WithoutALicenceTheKeyIsUnsetAndAWarningSaysHowToSetIt()
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        File.WriteAllText(Path.Combine(dir, "README.md"), "# a card without front matter\nlicense: mit\n");
        var r = Pack(tmp, dir);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains(r.StderrLines, l => l.StartsWith("warning: no licence", StringComparison.Ordinal) && l.Contains("--license"));
        Assert.Contains(r.StderrLines, l => l.StartsWith("warning: no model name", StringComparison.Ordinal) && l.Contains("--name"));
        Assert.Null(Value(tmp.File("x.gguf"), GgufFormat.KeyLicense));
    }

    [Fact]
    public void InspectSaysWhichShapeOrderItPrints()
    {
        using var tmp = new TempDir();
        Assert.Equal(0, Pack(tmp, tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors")).ExitCode);
        var text = WeightsTool.Run("inspect", tmp.File("x.gguf"));
        Assert.Contains("shape in PyTorch order", text.Stdout);
        Assert.Contains(text.Stdout.Split('\n'), l => l.Contains("transformer.ffns.0.lin1.weight") && l.Contains("[256, 64]"));
        using var json = System.Text.Json.JsonDocument.Parse(WeightsTool.Run("inspect", tmp.File("x.gguf"), "--json").Stdout);
        var lin1 = json.RootElement.GetProperty("tensors").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "transformer.ffns.0.lin1.weight");
        Assert.Equal([256L, 64L], lin1.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([64L, 256L], lin1.GetProperty("ne").EnumerateArray().Select(e => e.GetInt64()));
    }
}
