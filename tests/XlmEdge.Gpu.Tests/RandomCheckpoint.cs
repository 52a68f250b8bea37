using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using XlmEdge.Tests;
using XlmEdge.Model;
using XlmEdge.WeightsTool.Checkpoints;
using XlmEdge.WeightsTool.Commands;

namespace XlmEdge.Gpu.Tests;

/// <summary>
/// A checkpoint folder at the xlm-mlm-enfr-1024 geometry (V 64139, d 1024, 6 layers, 8 heads) with
/// random fp16-exact weights, packed with the weights tool: what the GPU benchmark runs on a machine
/// that has neither the real checkpoint nor network access. The tensors are the weights tool's
/// one schema (<see cref="XlmTensors"/>); the vocabulary is the tiny fixture's, padded with
/// made-up words to V.
/// </summary>
internal static class RandomCheckpoint
{
    public static string MakeEnfrGeometry(string work)
    {
        string folder = Path.Combine(work, "enfr-1024-random");
        string gguf = Path.Combine(work, "enfr-1024-random.gguf");
        if (File.Exists(gguf))
            return gguf;
        Directory.CreateDirectory(folder);
        string tiny = Fixtures.TinyEnfr;

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(tiny, "config.json")))!.AsObject();
        config["vocab_size"] = 64139;
        config["emb_dim"] = 1024;
        config["n_layers"] = 6;
        config["n_heads"] = 8;
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        File.Copy(Path.Combine(tiny, "merges.txt"), Path.Combine(folder, "merges.txt"), overwrite: true);
        File.Copy(Path.Combine(tiny, "tokenizer_config.json"), Path.Combine(folder, "tokenizer_config.json"), overwrite: true);

        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(tiny, "vocab.json")))!;
        for (int id = vocab.Count; id < 64139; id++)
            vocab[$"zz{id}</w>"] = id;
        File.WriteAllText(Path.Combine(folder, "vocab.json"), JsonSerializer.Serialize(vocab));

        var hf = HfConfig.Load(folder, _ => { });
        WriteSafetensors(Path.Combine(folder, "model.safetensors"), [.. XlmTensors.In(hf.Geometry).Select(t => (t.HfName, t.Shape))]);
        int exit = PackCommand.Run(new PackOptions(folder, gguf, Name: "enfr-1024-random"), TextWriter.Null, Console.Error);
        if (exit != 0)
            throw new InvalidOperationException($"packing the random checkpoint failed (exit {exit})");
        return gguf;
    }

    /// <summary>
    /// Matrices F16, uniform in ±0.05 (embeddings ±0.1); 1-D tensors F32: layer-norm gains near 1,
    /// everything else near 0.
    /// </summary>
    private static void WriteSafetensors(string path, IReadOnlyList<(string Name, long[] Shape)> tensors)
    {
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var (name, shape) in tensors)
        {
            long bytes = shape.Aggregate(1L, (a, b) => a * b) * (shape.Length == 2 ? 2 : 4);
            header[name] = new { dtype = shape.Length == 2 ? "F16" : "F32", shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int padded = (json.Length + 7) / 8 * 8;
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(length, padded);
        file.Write(length);
        file.Write(json);
        for (int i = json.Length; i < padded; i++)
            file.WriteByte((byte)' ');

        var random = new Random(2024);
        foreach (var (name, shape) in tensors)
        {
            long count = shape.Aggregate(1L, (a, b) => a * b);
            var buffer = new byte[Math.Min(count, 1 << 20) * (shape.Length == 2 ? 2 : 4)];
            bool embedding = name.EndsWith("embeddings.weight", StringComparison.Ordinal);
            bool gain = shape.Length == 1 && name.Contains("layer_norm", StringComparison.Ordinal) && name.EndsWith(".weight", StringComparison.Ordinal);
            for (long done = 0; done < count;)
            {
                int n = (int)Math.Min(count - done, buffer.Length / (shape.Length == 2 ? 2 : 4));
                for (int i = 0; i < n; i++)
                {
                    float value = (float)(random.NextDouble() * 2 - 1);
                    if (shape.Length == 2)
                        BinaryPrimitives.WriteHalfLittleEndian(buffer.AsSpan(2 * i), (Half)(value * (embedding ? 0.1f : 0.05f)));
                    else
                        BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(4 * i), gain ? 1 + 0.1f * value : 0.02f * value);
                }
                file.Write(buffer, 0, n * (shape.Length == 2 ? 2 : 4));
                done += n;
            }
        }
    }
}
