using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace XlmEdge.Tests.Weights;

/// <summary>A temporary folder removed after the test.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("xlmedge-weights-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>A copy of a fixture checkpoint folder (named like the fixture, so general.name matches)
    /// with the HF text files and only the given weight file (none when null).</summary>
    public string Checkpoint(string fixture, string? weightFile, string? saveAs = null)
    {
        string dir = System.IO.Path.Combine(Path, Guid.NewGuid().ToString("N")[..8], System.IO.Path.GetFileName(fixture));
        Directory.CreateDirectory(dir);
        foreach (var name in new[] { "config.json", "vocab.json", "merges.txt", "tokenizer_config.json" })
        {
            if (System.IO.File.Exists(System.IO.Path.Combine(fixture, name)))
                System.IO.File.Copy(System.IO.Path.Combine(fixture, name), System.IO.Path.Combine(dir, name));
        }
        if (weightFile is not null)
            System.IO.File.Copy(System.IO.Path.Combine(fixture, weightFile), System.IO.Path.Combine(dir, saveAs ?? weightFile));
        return dir;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Runs xlmedge-weights in-process with captured output.</summary>
internal static class WeightsTool
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        /// <summary>
        /// Asserts the failure contract: exit 1, stderr exactly one "error: " line (no notes or
        /// progress before it), no stdout, no exception text; returns the line.
        /// </summary>
        public string SingleError()
        {
            Assert.True(ExitCode == 1, $"expected exit 1, got {ExitCode}; stderr: {Stderr}");
            var line = Assert.Single(Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: ", line);
            Assert.DoesNotContain("internal error", line);
            Assert.DoesNotContain("   at ", Stderr);
            Assert.Equal("", Stdout);
            return line;
        }
    }

    public static Result Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = XlmEdge.WeightsTool.Program.Run(args, stdout, stderr);
        return new Result(exit, stdout.ToString(), stderr.ToString());
    }

    public static string Pack(string checkpointDir, string output, string dtype = "f16")
    {
        var r = Run("pack", checkpointDir, "-o", output, "--dtype", dtype);
        Assert.True(r.ExitCode == 0, $"pack failed: {r.Stderr}");
        return output;
    }
}

/// <summary>
/// Reads and writes .safetensors files for the tests, written from the format description and
/// independent of the tool's reader.
/// </summary>
internal sealed record SafetensorsEntry(string DType, long[] Shape, byte[] Data)
{
    public float[] ToFloats()
    {
        Assert.Equal("F32", DType);
        var values = new float[Data.Length / 4];
        for (int i = 0; i < values.Length; i++)
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(4 * i));
        return values;
    }

    public static SafetensorsEntry FromHalves(long[] shape, Half[] values)
    {
        var data = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(2 * i), values[i]);
        return new SafetensorsEntry("F16", shape, data);
    }

    public static SafetensorsEntry FromFloats(long[] shape, float[] values)
    {
        var data = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4 * i), values[i]);
        return new SafetensorsEntry("F32", shape, data);
    }
}

internal static class TestSafetensors
{
    public static Dictionary<string, SafetensorsEntry> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var result = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
                continue;
            long begin = p.Value.GetProperty("data_offsets")[0].GetInt64();
            long end = p.Value.GetProperty("data_offsets")[1].GetInt64();
            result[p.Name] = new SafetensorsEntry(
                p.Value.GetProperty("dtype").GetString()!,
                p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                bytes.AsSpan((int)(8 + n + begin), (int)(end - begin)).ToArray());
        }
        return result;
    }

    /// <summary>Writes tensors in the given order; <paramref name="header"/> may rewrite the JSON header.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, SafetensorsEntry>> tensors, Func<string, string>? header = null)
    {
        var json = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        var data = new MemoryStream();
        foreach (var (name, t) in tensors)
        {
            json.Append($",\"{name}\":{{\"dtype\":\"{t.DType}\",\"shape\":[{string.Join(",", t.Shape)}],\"data_offsets\":[{data.Length},{data.Length + t.Data.Length}]}}");
            data.Write(t.Data);
        }
        json.Append('}');
        var headerText = header is null ? json.ToString() : header(json.ToString());
        var headerBytes = Encoding.UTF8.GetBytes(headerText);
        int pad = (8 - headerBytes.Length % 8) % 8;
        using var f = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)(headerBytes.Length + pad));
        f.Write(length);
        f.Write(headerBytes);
        f.Write(Encoding.ASCII.GetBytes(new string(' ', pad)));
        f.Write(data.ToArray());
    }
}
