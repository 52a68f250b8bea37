using System.Diagnostics;
using System.Text.Json;
using XlmEdge.Weights;

namespace XlmEdge.Tests.Weights;

/// <summary>
/// Reads our files with the npm package @huggingface/gguf (tests/gguf-check) and compares its
/// view of metadata and tensor table with the runtime reader's. Needs node and
/// `npm ci --prefix tests/gguf-check`; without them the test fails and says so.
/// </summary>
public class IndependentReaderTests
{
    private static readonly string CheckDir = Path.Combine(Path.GetDirectoryName(Fixtures.Root)!, "gguf-check");

    [Theory]
    [InlineData("tiny-enfr", "f16")]
    [InlineData("other-geometry", "f32")]
    public void HuggingFaceGgufReadsWhatTheRuntimeReads(string fixture, string dtype)
    {
        using var tmp = new TempDir();
        var output = WeightsTool.Pack(tmp.Checkpoint(Path.Combine(Fixtures.Root, fixture), "model.safetensors"), tmp.File("x.gguf"), dtype);
        using var doc = JsonDocument.Parse(RunCheck(output));
        var js = doc.RootElement;
        using var file = GgufFile.Open(output);

        Assert.Equal(3, js.GetProperty("version").GetInt32());
        Assert.Equal(file.Tensors.Count, js.GetProperty("tensorCount").GetInt32());
        Assert.Equal(file.Metadata.Count, js.GetProperty("kvCount").GetInt32());
        var metadata = js.GetProperty("metadata");
        Assert.Equal(file.Metadata.Select(m => m.Key), metadata.EnumerateObject().Select(p => p.Name));
        foreach (var m in file.Metadata)
        {
            var entry = metadata.GetProperty(m.Key);
            Assert.Equal((int)m.Type, entry.GetProperty("type").GetInt32());
            if (m.Type == GgufValueType.Array)
                Assert.Equal((int)m.ElementType, entry.GetProperty("subType").GetInt32());
            AssertSameValue(m.Key, m.Value, entry.GetProperty("value"));
        }

        long dataStart = js.GetProperty("tensorDataOffset").GetInt64();
        Assert.Equal(0, dataStart % 64);
        var tensors = js.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(file.Tensors.Count, tensors.Count);
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = file.Tensors[i];
            Assert.Equal(t.Name, tensors[i].GetProperty("name").GetString());
            Assert.Equal(t.Shape.Reverse(), tensors[i].GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
            Assert.Equal((int)t.Type, tensors[i].GetProperty("dtype").GetInt32());
            Assert.Equal(t.DataOffset, dataStart + tensors[i].GetProperty("offset").GetInt64());
        }
    }

    private static void AssertSameValue(string key, object ours, JsonElement theirs)
    {
        switch (ours)
        {
            case string s: Assert.Equal(s, theirs.GetString()); break;
            case bool b: Assert.Equal(b, theirs.GetBoolean()); break;
            case float f: Assert.Equal(f, (float)theirs.GetDouble()); break;
            case uint u: Assert.Equal(u, theirs.GetUInt32()); break;
            case string[] a: Assert.Equal(a, theirs.EnumerateArray().Select(e => e.GetString())); break;
            case int[] a: Assert.Equal(a, theirs.EnumerateArray().Select(e => e.GetInt32())); break;
            default: Assert.Fail($"{key}: value type {ours.GetType().Name} not expected in an XlmEdge file"); break;
        }
    }

    private static string RunCheck(string gguf)
    {
        const string Fix = "install it with: npm ci --prefix tests/gguf-check (and nodejs >= 20: apt-get install -y nodejs npm)";
        Assert.True(File.Exists(Path.Combine(CheckDir, "node_modules", "@huggingface", "gguf", "package.json")),
            $"@huggingface/gguf is not installed in {CheckDir}; {Fix}");
        var start = new ProcessStartInfo("node", [Path.Combine(CheckDir, "check.mjs"), gguf])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = CheckDir,
        };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"node could not be started ({e.Message}); {Fix}");
            throw;
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            Assert.True(process.WaitForExit(60_000), "node check.mjs did not finish within 60 s");
            Assert.True(process.ExitCode == 0, $"node check.mjs failed ({process.ExitCode}): {stderr.Result}");
            return stdout.Result;
        }
    }
}
