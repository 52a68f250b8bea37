using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;

namespace XlmEdge.Fuzz;

/// <summary>
/// Mutates checkpoint folders made from the tiny-enfr fixture (one of its three weight formats at
/// a time) and packs them: JSON values replaced, removed or added, lone surrogates and broken
/// text in config.json, tokenizer_config.json and vocab.json, merges.txt damaged, weight files with
/// flipped bits, lying lengths and cuts, files replaced by folders, links to devices or FIFOs, and
/// a model card. pack must either succeed, writing a file that verifies and loads, or fail with
/// the one error line, leaving no output and no temporary file.
/// </summary>
internal sealed partial class CheckpointFuzzer(string workFolder) : IFuzzer
{
    private static readonly string[] TextFiles = ["config.json", "tokenizer_config.json", "vocab.json", "merges.txt"];
    private static readonly string[] WeightFiles = ["model.safetensors", "pytorch_model.bin", "pytorch_model_legacy.bin"];
    private static readonly string Fixture = Path.Combine(FixturesFolder.Root, "tiny-enfr");

    private static readonly JsonNode?[] InterestingValues =
    [
        0, 1, -1, 2, 5, 64, 1786, 1787, 4096, int.MaxValue, 4294967296L, 9007199254740993L, 1e308, 1e-50, -1e-12, 0.5, 1.5,
        true, false, null, "", "en", "xlm", "<special1>", new JsonArray(), new JsonObject(), new JsonArray(1, 2, 3),
        new JsonObject { ["en"] = 0 }, new JsonObject { ["en"] = 0, ["fr"] = 0 }, new JsonObject { ["0"] = "en", ["1"] = "fr", ["2"] = "de" },
    ];

    private static readonly string[] AddedKeys =
    [
        "causal", "gelu_activation", "asm", "use_lang_emb", "n_langs", "mask_index", "bos_index", "lang2id", "id2lang",
        "do_lowercase_and_remove_accent", "_name_or_path", "layer_norm_eps", "max_position_embeddings", "sinusoidal_embeddings",
    ];

    private readonly string _checkpoint = Path.Combine(workFolder, "checkpoint");
    private readonly string _outputFolder = Path.Combine(workFolder, "out");

    public string Name => "checkpoint";

    public void KeepMutant(string folder)
    {
        foreach (var file in Directory.GetFileSystemEntries(_checkpoint))
        {
            if (File.Exists(file) && InputFilesAreRegular(file))
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            else
                File.WriteAllText(Path.Combine(folder, Path.GetFileName(file) + ".not-a-regular-file"), "");
        }
    }

    public (string Mutations, IReadOnlyList<string> Problems) RunOne(Random random, int iteration, bool asProcess)
    {
        Reset(_checkpoint);
        Reset(_outputFolder);
        string weights = WeightFiles[random.Next(WeightFiles.Length)];
        foreach (var name in TextFiles.Append(weights))
            File.Copy(Path.Combine(Fixture, name), Path.Combine(_checkpoint, name));

        var applied = new List<string> { weights };
        int count = random.Next(1, 4);
        for (int i = 0; i < count; i++)
            applied.Add(Mutate(random, weights));

        string output = Path.Combine(_outputFolder, "out.gguf");
        var problems = new List<string>();
        Check(problems, "pack", Contract.InProcess("pack", _checkpoint, "-o", output), output);
        if (asProcess)
        {
            Reset(_outputFolder);
            Check(problems, "pack (process)", Contract.AsProcess(TimeSpan.FromSeconds(60), "pack", _checkpoint, "-o", output), output);
        }
        return (string.Join("; ", applied), problems);
    }

    private static void Check(List<string> problems, string what, ToolRun run, string output)
    {
        var problem = Contract.Check(run, _ => Packed(output));
        if (problem is not null)
            problems.Add($"{what}: {problem}");
        if (run.ExitCode != 0 && File.Exists(output))
            problems.Add($"{what}: failed but left {output}");
        var left = Directory.GetFiles(Path.GetDirectoryName(output)!).Where(f => f != output).ToList();
        if (left.Count > 0)
            problems.Add($"{what}: left {string.Join(", ", left.Select(Path.GetFileName))}");
    }

    /// <summary>A pack that succeeded must have written a file that verifies and loads.</summary>
    private static string? Packed(string output)
    {
        if (!File.Exists(output))
            return "exit 0 but no output file";
        var verify = Contract.InProcess("verify", output);
        if (verify.ExitCode != 0)
            return $"pack wrote a file verify refuses: {Contract.Clip(verify.Stderr)}";
        try
        {
            XlmModel.Load(output, new XlmModelOptions { Threads = 1 }).Dispose();
            return null;
        }
        catch (Exception e)
        {
            return $"pack wrote a file load refuses: {e.GetType().Name}: {Contract.Clip(e.Message)}";
        }
    }

    private string Mutate(Random random, string weights)
    {
        return random.Next(10) switch
        {
            0 or 1 or 2 => MutateJsonValue(random, random.Next(4) == 0 ? "tokenizer_config.json" : "config.json"),
            3 => MutateJsonValue(random, "vocab.json"),
            4 => MutateText(random, TextFiles[random.Next(TextFiles.Length)]),
            5 or 6 => MutateWeights(random, weights),
            7 => MutateText(random, "merges.txt"),
            8 => WriteCard(random),
            _ => ReplaceFile(random, TextFiles.Append(weights).ToArray()),
        };
    }

    private string MutateJsonValue(Random random, string file)
    {
        string path = Path.Combine(_checkpoint, file);
        if (!File.Exists(path) || !InputFilesAreRegular(path))
            return $"{file}: none";
        JsonObject root;
        List<string> keys;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new FormatException();
            // JsonNode parses lazily: a lone surrogate escape from an earlier mutation throws only when
            // the keys or values are read (seen in CI), so read them all here.
            keys = root.Select(p => p.Key).ToList();
            _ = root.ToJsonString();
        }
        catch (Exception)
        {
            return $"{file}: none (already broken)";
        }
        string what;
        int choice = random.Next(4);
        if (choice == 0 && keys.Count > 0)
        {
            string key = keys[random.Next(keys.Count)];
            root.Remove(key);
            what = $"removed {key}";
        }
        else if (choice == 1 || keys.Count == 0)
        {
            string key = file == "vocab.json" ? $"<new{random.Next(100)}>" : AddedKeys[random.Next(AddedKeys.Length)];
            root[key] = Interesting(random);
            what = $"{key} = {root[key]?.ToJsonString() ?? "null"}";
        }
        else
        {
            string key = keys[random.Next(keys.Count)];
            root[key] = Interesting(random);
            what = $"{key} = {root[key]?.ToJsonString() ?? "null"}";
        }
        File.WriteAllText(path, root.ToJsonString());
        return $"{file}: {what}";
    }

    private static JsonNode? Interesting(Random random) => InterestingValues[random.Next(InterestingValues.Length)]?.DeepClone();

    private string MutateText(Random random, string file)
    {
        string path = Path.Combine(_checkpoint, file);
        if (!File.Exists(path) || !InputFilesAreRegular(path))
            return $"{file}: none";
        var bytes = File.ReadAllBytes(path).ToList();
        string what;
        switch (random.Next(5))
        {
            case 0:
            {
                // a lone surrogate escape inside a string
                int quote = bytes.IndexOf((byte)'"', random.Next(Math.Max(1, bytes.Count)));
                if (quote < 0)
                    return $"{file}: none";
                bytes.InsertRange(quote + 1, Encoding.ASCII.GetBytes(random.Next(2) == 0 ? "\\ud800" : "\\udfff"));
                what = "lone surrogate";
                break;
            }
            case 1:
            {
                int at = random.Next(Math.Max(1, bytes.Count));
                bytes.InsertRange(at, random.Next(2) == 0 ? [0xff] : [0xc3]);
                what = $"invalid UTF-8 at {at}";
                break;
            }
            case 2:
            {
                int cut = random.Next(bytes.Count + 1);
                bytes.RemoveRange(cut, bytes.Count - cut);
                what = $"cut at {cut}";
                break;
            }
            case 3:
            {
                int flips = random.Next(1, 6);
                for (int i = 0; i < flips && bytes.Count > 0; i++)
                    bytes[random.Next(bytes.Count)] ^= (byte)(1 << random.Next(8));
                what = $"{flips} bit flips";
                break;
            }
            default:
            {
                // deep nesting or a long line
                var junk = random.Next(2) == 0 ? new string('[', 5000) : new string('x', 100_000);
                bytes.InsertRange(random.Next(bytes.Count + 1), Encoding.ASCII.GetBytes(junk));
                what = "deep or long junk";
                break;
            }
        }
        File.WriteAllBytes(path, [.. bytes]);
        return $"{file}: {what}";
    }

    private string MutateWeights(Random random, string file)
    {
        string path = Path.Combine(_checkpoint, file);
        if (!File.Exists(path) || !InputFilesAreRegular(path))
            return $"{file}: none";
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 16)
            return $"{file}: none (an earlier mutation of this checkpoint cut it to {bytes.Length} bytes)";
        // structures sit at the start (safetensors header, legacy pickles) and the end (zip directory)
        int Where() => random.Next(3) switch
        {
            0 => random.Next(Math.Min(bytes.Length, 8192)),
            1 => Math.Max(0, bytes.Length - 1 - random.Next(Math.Min(bytes.Length, 8192))),
            _ => random.Next(bytes.Length),
        };
        switch (random.Next(4))
        {
            case 0:
            {
                int flips = random.Next(1, 9);
                for (int i = 0; i < flips; i++)
                    bytes[Where()] ^= (byte)(1 << random.Next(8));
                File.WriteAllBytes(path, bytes);
                return $"{file}: {flips} bit flips";
            }
            case 1:
            {
                int at = Math.Min(Where(), bytes.Length - 8);
                ulong[] lies = [0, 1, 0xffff, 0xffffffff, ulong.MaxValue, 1UL << 40];
                ulong value = random.Next(2) == 0 ? (ulong)random.NextInt64() : lies[random.Next(lies.Length)];
                BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), value);
                File.WriteAllBytes(path, bytes);
                return $"{file}: u64 {value} at {at}";
            }
            case 2:
            {
                int cut = Where();
                File.WriteAllBytes(path, bytes[..cut]);
                return $"{file}: cut at {cut}";
            }
            default:
            {
                // non-finite or huge values among the weights
                int at = random.Next(bytes.Length / 2, bytes.Length - 4);
                byte[] value = random.Next(2) == 0 ? [0x00, 0x00, 0xc0, 0x7f] : [0x00, 0x00, 0x80, 0x4f];
                value.CopyTo(bytes, at & ~3);
                File.WriteAllBytes(path, bytes);
                return $"{file}: {(value[2] == 0xc0 ? "NaN" : "2^32")} at {at & ~3}";
            }
        }
    }

    private string WriteCard(Random random)
    {
        string[] cards =
        [
            "---\nlicense: cc-by-nc-4.0\n---\n# model\n",
            "---\nlicense:\n---\n",
            "---\nlicense: \"\\ud800\"\n",
            "no front matter\n",
            "---\n" + new string('x', 2 << 20),
        ];
        int i = random.Next(cards.Length);
        File.WriteAllText(Path.Combine(_checkpoint, "README.md"), cards[i]);
        return $"README.md card {i}";
    }

    private string ReplaceFile(Random random, string[] names)
    {
        string name = names[random.Next(names.Length)];
        string path = Path.Combine(_checkpoint, name);
        // An earlier mutation in this round may already have made it a folder; File.Delete refuses
        // folders (seen in CI: UnauthorizedAccessException), and a link to a folder must go as a link.
        if (Directory.Exists(path) && new FileInfo(path).LinkTarget is null)
            Directory.Delete(path, recursive: true);
        else
            File.Delete(path);
        switch (random.Next(4))
        {
            case 0:
                return $"{name} removed";
            case 1:
                Directory.CreateDirectory(path);
                return $"{name} is a folder";
            case 2:
                File.CreateSymbolicLink(path, random.Next(2) == 0 ? "/dev/zero" : "/dev/urandom");
                return $"{name} links to a device";
            default:
                if (MakeFifo(path, 0x1a4) != 0)
                    return $"{name} removed (no FIFO)";
                return $"{name} is a FIFO";
        }
    }

    private static bool InputFilesAreRegular(string path) => !XlmEdge.WeightsTool.Checkpoints.InputFiles.IsSpecialFile(path);

    private static void Reset(string folder)
    {
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MakeFifo(string path, uint mode);
}
