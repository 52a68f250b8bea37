using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using XlmEdge.WeightsTool.Checkpoints;

namespace XlmEdge.Tests.Weights;

/// <summary>
/// Bad and hostile checkpoints: each ends in one ModelFileException (library) and exit 1 with
/// one "error:" line (tool). Every hostile file is made here from the good fixtures.
/// </summary>
public class CheckpointInputTests
{
    private const string Safetensors = "model.safetensors";

    private static string PackError(string dir, TempDir tmp, string dtype = "f16") =>
        WeightsTool.Run("pack", dir, "-o", tmp.File("out.gguf"), "--dtype", dtype).SingleError();

    private static string EditSafetensors(TempDir tmp, Action<Dictionary<string, SafetensorsEntry>> edit, string fixture = "")
    {
        var dir = tmp.Checkpoint(fixture == "" ? Fixtures.TinyEnfr : fixture, Safetensors);
        var path = Path.Combine(dir, Safetensors);
        var tensors = TestSafetensors.Read(path);
        edit(tensors);
        TestSafetensors.Write(path, tensors);
        return dir;
    }

    private static void SetValue(Dictionary<string, SafetensorsEntry> tensors, string name, int index, float value)
    {
        var values = tensors[name].ToFloats();
        values[index] = value;
        tensors[name] = SafetensorsEntry.FromFloats(tensors[name].Shape, values);
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        using var tmp = new TempDir();
        var dir = EditSafetensors(tmp, t => t.Remove("transformer.layer_norm1.1.bias"));
        var error = PackError(dir, tmp);
        Assert.Contains("'transformer.layer_norm1.1.bias'", error);
        Assert.Contains("missing", error);
    }

    [Fact]
    public void MisshapedTensorIsNamedWithBothShapes()
    {
        using var tmp = new TempDir();
        var dir = EditSafetensors(tmp, t =>
        {
            var w = t["transformer.ffns.0.lin2.weight"];
            t["transformer.ffns.0.lin2.weight"] = new SafetensorsEntry("F32", [w.Shape[1], w.Shape[0]], w.Data);
        });
        var error = PackError(dir, tmp);
        Assert.Contains("'transformer.ffns.0.lin2.weight'", error);
        Assert.Contains("[256, 64]", error);
        Assert.Contains("expected [64, 256]", error);
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "infinity")]
    [InlineData(float.NegativeInfinity, "infinity")]
    public void NonFiniteWeightsAreErrorsNamingTensorAndIndex(float value, string word)
    {
        using var tmp = new TempDir();
        var dir = EditSafetensors(tmp, t => SetValue(t, "transformer.attentions.1.k_lin.weight", 3 * 64 + 7, value));
        foreach (var dtype in new[] { "f16", "f32" })
        {
            var error = PackError(dir, tmp, dtype);
            Assert.Contains("'transformer.attentions.1.k_lin.weight'", error);
            Assert.Contains(word, error);
            Assert.Contains("[3, 7]", error);
        }
    }

    [Fact]
    public void Fp16OverflowIsAnErrorButPacksAsF32()
    {
        using var tmp = new TempDir();
        var dir = EditSafetensors(tmp, t => SetValue(t, "transformer.ffns.1.lin1.weight", 100, 70000f));
        var error = PackError(dir, tmp);
        Assert.Contains("'transformer.ffns.1.lin1.weight'", error);
        Assert.Contains("overflows fp16", error);
        Assert.Equal(0, WeightsTool.Run("pack", dir, "-o", tmp.File("f32.gguf"), "--dtype", "f32").ExitCode);
    }

    [Fact]
    public void LargestFp16RoundingErrorIsReported()
    {
        using var tmp = new TempDir();
        var dir = EditSafetensors(tmp, t => SetValue(t, "transformer.attentions.0.v_lin.weight", 5, 0.1f));
        var r = WeightsTool.Run("pack", dir, "-o", tmp.File("x.gguf"));
        Assert.Equal(0, r.ExitCode);
        float expected = Math.Abs((float)(Half)0.1f - 0.1f);
        Assert.Contains($"max rounding error {expected.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)} (in transformer.attentions.0.v_lin.weight)", r.Stderr);
    }

    [Fact]
    public void UnknownExtraEntriesAreIgnoredWithANote()
    {
        using var tmp = new TempDir();
        var reference = File.ReadAllBytes(WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors), tmp.File("ref.gguf")));
        var dir = EditSafetensors(tmp, t => t["transformer.position_ids"] = new SafetensorsEntry("I64", [1, 512], new byte[512 * 8]));
        var r = WeightsTool.Run("pack", dir, "-o", tmp.File("x.gguf"));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("ignoring checkpoint entry 'transformer.position_ids'", r.Stderr);
        Assert.Equal(reference, File.ReadAllBytes(tmp.File("x.gguf")));
    }

    [Fact]
    public void AnExplicitProjectionEqualToTheEmbeddingsIsStoredOnce()
    {
        using var tmp = new TempDir();
        var reference = File.ReadAllBytes(WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors), tmp.File("ref.gguf")));
        var dir = EditSafetensors(tmp, t => t["pred_layer.proj.weight"] = t["transformer.embeddings.weight"]);
        Assert.Equal(reference, File.ReadAllBytes(WeightsTool.Pack(dir, tmp.File("x.gguf"))));
    }

    [Fact]
    public void AnUntiedProjectionIsRefused()
    {
        using var tmp = new TempDir();
        var dir = EditSafetensors(tmp, t =>
        {
            t["pred_layer.proj.weight"] = t["transformer.embeddings.weight"];
            SetValue(t, "pred_layer.proj.weight", 10, 0.5f);
        });
        Assert.Contains("'pred_layer.proj.weight' differs from 'transformer.embeddings.weight'", PackError(dir, tmp));
    }

    [Fact]
    public void F16SourceWeightsPackToTheSameFile()
    {
        using var tmp = new TempDir();
        var reference = File.ReadAllBytes(WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors), tmp.File("ref.gguf")));
        var dir = EditSafetensors(tmp, t =>
        {
            foreach (var name in t.Keys.ToList())
            {
                var values = t[name].ToFloats();
                var data = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++)
                    BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(2 * i), (Half)values[i]);
                t[name] = new SafetensorsEntry("F16", t[name].Shape, data);
            }
        });
        Assert.Equal(reference, File.ReadAllBytes(WeightsTool.Pack(dir, tmp.File("x.gguf"))));
    }

    [Fact]
    public void Bf16SourceWeightsPackLikeTheirF32Values()
    {
        using var tmp = new TempDir();
        Dictionary<string, SafetensorsEntry>? truncated = null;
        var f32Dir = EditSafetensors(tmp, t =>
        {
            foreach (var name in t.Keys.ToList())
            {
                var values = t[name].ToFloats();
                for (int i = 0; i < values.Length; i++)
                    values[i] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(values[i]) & unchecked((int)0xFFFF0000));
                t[name] = SafetensorsEntry.FromFloats(t[name].Shape, values);
            }
            truncated = new(t);
        });
        var bf16Dir = EditSafetensors(tmp, t =>
        {
            foreach (var (name, entry) in truncated!)
            {
                var data = new byte[entry.Data.Length / 2];
                for (int i = 0; i < data.Length / 2; i++)
                    BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2 * i), (ushort)(BinaryPrimitives.ReadUInt32LittleEndian(entry.Data.AsSpan(4 * i)) >> 16));
                t[name] = new SafetensorsEntry("BF16", entry.Shape, data);
            }
        });
        Assert.Equal(File.ReadAllBytes(WeightsTool.Pack(f32Dir, tmp.File("a.gguf"), "f32")),
                     File.ReadAllBytes(WeightsTool.Pack(bf16Dir, tmp.File("b.gguf"), "f32")));
    }

    [Fact]
    public void IntegerWeightsAreRefused()
    {
        using var tmp = new TempDir();
        var dir = EditSafetensors(tmp, t => t["transformer.layer_norm_emb.bias"] = t["transformer.layer_norm_emb.bias"] with { DType = "I32" });
        Assert.Contains("'transformer.layer_norm_emb.bias' is I32", PackError(dir, tmp));
    }

    public static TheoryData<string, string> HostileSafetensorsHeaders => new()
    {
        { "\"data_offsets\":[0,", "\"data_offsets\":[64," },                               // fewer bytes than the shape needs
        { "\"data_offsets\":[0,", "\"data_offsets\":[-4," },
        { "\"shape\":[512,64]", "\"shape\":[512,65]" },                                      // bytes do not match the shape
        { "\"shape\":[512,64]", "\"shape\":[512,-64]" },
        { "\"shape\":[512,64]", "\"shape\":[4611686018427387904,4]" },                         // element count overflows
        { "\"dtype\":\"F32\"", "\"dtype\":\"Q4\"" },
        { "{\"__metadata__\"", "[{\"__metadata__\"" },                                        // not JSON any more
        { "\"data_offsets\"", "\"offsets\"" },
        { "\"dtype\":\"F32\"", "\"dtype\":\"F\\ud800\"" },                              // a lone surrogate escape
        { "\"transformer.position_embeddings.weight\"", "\"transformer.position\\udc00\"" },
    };

    [Theory]
    [MemberData(nameof(HostileSafetensorsHeaders))]
    public void HostileSafetensorsHeadersAreRefused(string find, string replace)
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors);
        var path = Path.Combine(dir, Safetensors);
        var tensors = TestSafetensors.Read(path).OrderBy(kv => kv.Key == "transformer.position_embeddings.weight" ? 0 : 1).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        TestSafetensors.Write(path, tensors, h =>
        {
            int at = h.IndexOf(find, StringComparison.Ordinal);
            Assert.True(at >= 0, find);
            return h[..at] + replace + h[(at + find.Length)..];
        });
        Assert.Throws<ModelFileException>(() => Checkpoint.Open(path).Dispose());
        PackError(dir, tmp);
    }

    [Fact]
    public void OverlappingSafetensorsOffsetsAreRefused()
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors);
        var path = Path.Combine(dir, Safetensors);
        var tensors = TestSafetensors.Read(path);
        var ordered = new[] { "transformer.layer_norm_emb.weight", "transformer.layer_norm_emb.bias" }
            .Select(n => new KeyValuePair<string, SafetensorsEntry>(n, tensors[n]))
            .Concat(tensors.Where(kv => !kv.Key.StartsWith("transformer.layer_norm_emb.", StringComparison.Ordinal))).ToList();
        // both layer-norm vectors are 256 bytes: point the bias at the weight's bytes
        TestSafetensors.Write(path, ordered, h => h.Replace("\"data_offsets\":[256,512]", "\"data_offsets\":[128,384]"));
        var e = Assert.Throws<ModelFileException>(() => Checkpoint.Open(path).Dispose());
        Assert.Contains("overlap", e.Message);
        Assert.Contains("overlap", PackError(dir, tmp));
    }

    [Fact]
    public void SafetensorsDataOverrunningTheFileIsRefused()
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors);
        var path = Path.Combine(dir, Safetensors);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^1]);
        Assert.Contains("runs past the end", Assert.Throws<ModelFileException>(() => Checkpoint.Open(path).Dispose()).Message);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue - 3);
        File.WriteAllBytes(path, bytes);
        Assert.Contains("header length", Assert.Throws<ModelFileException>(() => Checkpoint.Open(path).Dispose()).Message);
    }

    /// <summary>
    /// Every byte of the structural region (the safetensors header; the legacy format's five
    /// pickles; a zip fails at its end record whatever the cut) and 400 cuts spread over the rest.
    /// </summary>
    [Theory]
    [InlineData("model.safetensors", -1)]
    [InlineData("pytorch_model.bin", 0)]
    [InlineData("pytorch_model_legacy.bin", 6144)]
    public void TruncatedWeightFilesAreRefusedAtEveryCut(string weightFile, int structuralBytes)
    {
        using var tmp = new TempDir();
        var bytes = File.ReadAllBytes(Path.Combine(Fixtures.TinyEnfr, weightFile));
        var path = tmp.File(weightFile);
        if (structuralBytes < 0)
            structuralBytes = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var cuts = Enumerable.Range(0, structuralBytes)
            .Concat(Enumerable.Range(0, 400).Select(i => structuralBytes + (int)((long)(bytes.Length - structuralBytes - 1) * i / 400)));
        foreach (int cut in cuts)
        {
            File.WriteAllBytes(path, bytes[..cut]);
            var e = Record.Exception(() => Checkpoint.Open(path).Dispose());
            Assert.True(e is ModelFileException, $"cut at {cut}: {e?.GetType().Name ?? "no exception"} {e?.Message}");
        }
    }

    [Theory]
    [InlineData("pytorch_model.bin")]
    [InlineData("pytorch_model_legacy.bin")]
    public void TruncatedTorchFilesFailThroughTheTool(string weightFile)
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, weightFile);
        var path = Path.Combine(dir, weightFile);
        var bytes = File.ReadAllBytes(path);
        foreach (int cut in new[] { 10, 100, 3000, bytes.Length / 2, bytes.Length - 1 })
        {
            File.WriteAllBytes(path, bytes[..cut]);
            PackError(dir, tmp);
            Assert.False(File.Exists(tmp.File("out.gguf")));
        }
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("posix", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("__builtin__", "exec")]
    [InlineData("subprocess", "Popen")]
    [InlineData("torch.nn.modules.linear", "Linear")]
    [InlineData("numpy.core.multiarray", "_reconstruct")]
    [InlineData("collections", "defaultdict")]
    public void PicklesNamingOtherGlobalsAreRefusedByName(string module, string name)
    {
        using var tmp = new TempDir();
        foreach (bool stackGlobal in new[] { false, true })
        {
            var dir = tmp.Checkpoint(Fixtures.TinyEnfr, null);
            var path = Path.Combine(dir, "pytorch_model.bin");
            TorchZip.Write(path, "archive", TorchZip.CallingPickle(module, name, stackGlobal), []);
            var e = Assert.Throws<ModelFileException>(() => Checkpoint.Open(path).Dispose());
            Assert.Contains($"'{module}.{name}'", e.Message);
            Assert.Contains($"'{module}.{name}'", PackError(dir, tmp));
        }
    }

    [Fact]
    public void ARealCheckpointRepackedWithAForeignGlobalIsRefused()
    {
        using var tmp = new TempDir();
        var pickle = ReadEntry(Path.Combine(Fixtures.TinyEnfr, "pytorch_model.bin"), "pytorch_model/data.pkl");
        var text = Encoding.Latin1.GetString(pickle);
        Assert.Contains("ccollections\nOrderedDict\n", text);
        // same length, so every memo/offset stays valid: only the global differs
        var evil = Encoding.Latin1.GetBytes(text.Replace("ccollections\nOrderedDict\n", "cposix\nsystem\n\n\n\n\n\n\n\n\n\n\n\n"));
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, null);
        TorchZip.Write(Path.Combine(dir, "pytorch_model.bin"), "archive", evil, []);
        Assert.Contains("'posix.system'", PackError(dir, tmp));
    }

    [Fact]
    public void TruncatedAndCorruptedPicklesOnlyEverRaiseModelFileException()
    {
        var pickle = ReadEntry(Path.Combine(Fixtures.TinyEnfr, "pytorch_model.bin"), "pytorch_model/data.pkl");
        object? Load(byte[] data) => RestrictedUnpickler.Load(data, pid => TorchStorage.FromPersistentId(pid, "t"), "t", out _);
        Assert.IsType<PickleDict>(Load(pickle));
        for (int cut = 0; cut < pickle.Length; cut++)
            Assert.Throws<ModelFileException>(() => Load(pickle[..cut]));
        var random = new Random(1234);
        for (int trial = 0; trial < 3000; trial++)
        {
            var copy = (byte[])pickle.Clone();
            for (int k = random.Next(1, 4); k > 0; k--)
                copy[random.Next(copy.Length)] = (byte)random.Next(256);
            var e = Record.Exception(() =>
            {
                var root = Load(copy);
                StateDict.ToTensors(root, "t", s => 0);
            });
            Assert.True(e is null or ModelFileException, $"trial {trial}: {e?.GetType().Name}: {e?.Message}");
        }
    }

    [Fact]
    public void CompressedStorageEntriesAreRefused()
    {
        using var tmp = new TempDir();
        var source = Path.Combine(Fixtures.TinyEnfr, "pytorch_model.bin");
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, null);
        var path = Path.Combine(dir, "pytorch_model.bin");
        using (var input = ZipFile.OpenRead(source))
        using (var output = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            foreach (var entry in input.Entries)
            {
                var copy = output.CreateEntry(entry.FullName, entry.FullName.EndsWith("data/3", StringComparison.Ordinal) ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
                using var from = entry.Open();
                using var to = copy.Open();
                from.CopyTo(to);
            }
        }
        Assert.Contains("compressed", PackError(dir, tmp));
    }

    [Fact]
    public void MissingStorageEntryIsNamed()
    {
        using var tmp = new TempDir();
        var pickle = ReadEntry(Path.Combine(Fixtures.TinyEnfr, "pytorch_model.bin"), "pytorch_model/data.pkl");
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, null);
        TorchZip.Write(Path.Combine(dir, "pytorch_model.bin"), "archive", pickle, []);
        Assert.Contains("'archive/data/0'", PackError(dir, tmp));
    }

    [Theory]
    [InlineData("config.json", "\"vocab_size\": 1786,", "\"vocab_size\": 1786,,")]
    [InlineData("config.json", "\"emb_dim\": 64", "\"emb_dim\": \"64\"")]
    [InlineData("config.json", "\"emb_dim\": 64", "\"emb_dim\": 66")]
    [InlineData("config.json", "\"emb_dim\": 64,", "")]
    [InlineData("config.json", "\"n_langs\": 2", "\"n_langs\": 3")]
    [InlineData("config.json", "\"asm\": false", "\"asm\": true")]
    [InlineData("config.json", "\"lang2id\": {", "\"lang2id\": {\"de\": 0, ")]
    [InlineData("config.json", "\"vocab_size\": 1786", "\"vocab_size\": 1787")]
    [InlineData("vocab.json", "\"<s>\": 0,", "\"<s>\": 0,,")]
    [InlineData("vocab.json", "\"<s>\": 0,", "\"<s>\": 1,")]
    [InlineData("vocab.json", "\"<s>\": 0,", "\"<s>\": 0.5,")]
    [InlineData("vocab.json", "\"<s>\": 0,", "")]
    [InlineData("vocab.json", "{", "[")]
    public void MalformedConfigAndVocabularyAreRefused(string file, string find, string replace)
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors);
        var path = Path.Combine(dir, file);
        var text = File.ReadAllText(path);
        int at = text.IndexOf(find, StringComparison.Ordinal);
        Assert.True(at >= 0, find);
        File.WriteAllText(path, text[..at] + replace + text[(at + find.Length)..]);
        Assert.Contains(file, PackError(dir, tmp));
    }

    [Theory]
    [InlineData("config.json", "\"en\": 0", "\"e\\ud800\": 0")]              // in a name that is read
    [InlineData("config.json", "\"model_type\": \"xlm\"", "\"model_type\": \"\\udc00\"")] // in a value that is not
    [InlineData("tokenizer_config.json", "\"<special0>\"", "\"\\udbff\\udbff\"")]
    [InlineData("vocab.json", "\"<s>\": 0", "\"<s>\\ud800\": 0")]
    public void LoneSurrogatesInJsonAreBadInputNotInternalErrors(string file, string find, string replace)
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors);
        var path = Path.Combine(dir, file);
        var text = File.ReadAllText(path);
        Assert.Contains(find, text);
        File.WriteAllText(path, text.Replace(find, replace));
        Assert.Equal($"error: {file}: a name or string is not valid Unicode (a lone surrogate escape such as \\ud800, or invalid UTF-8)", PackError(dir, tmp));
    }

    [Fact]
    public void InvalidUtf8InJsonIsBadInput()
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors);
        var path = Path.Combine(dir, "vocab.json");
        var bytes = File.ReadAllBytes(path);
        int at = bytes.AsSpan().IndexOf("\"the</w>\""u8) + 1;
        bytes[at] = 0xff;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("vocab.json: a name or string is not valid Unicode", PackError(dir, tmp));
    }

    [Fact]
    public void AZipWithExactly65535EntriesAndNoZip64IsRead()
    {
        using var tmp = new TempDir();
        var reference = File.ReadAllBytes(WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors), tmp.File("ref.gguf")));
        var entries = new List<(string, byte[])>();
        using (var zip = ZipFile.OpenRead(Path.Combine(Fixtures.TinyEnfr, "pytorch_model.bin")))
        {
            foreach (var e in zip.Entries)
            {
                using var s = e.Open();
                var m = new MemoryStream();
                s.CopyTo(m);
                entries.Add((e.FullName, m.ToArray()));
            }
        }
        while (entries.Count < 0xFFFF)
            entries.Add(($"pytorch_model/extra/{entries.Count}", []));
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, null);
        PlainZip.Write(Path.Combine(dir, "pytorch_model.bin"), entries);
        using (var file = MappedFile.Open(Path.Combine(dir, "pytorch_model.bin")))
            Assert.Equal(0xFFFF, ZipDirectory.Read(file).Count);
        Assert.Equal(reference, File.ReadAllBytes(WeightsTool.Pack(dir, tmp.File("x.gguf"))));
    }

    [Fact]
    public void AMaskIndexOutsideTheVocabularyIsRefused()
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors);
        var path = Path.Combine(dir, "config.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"mask_index\": 5", "\"mask_index\": 99999"));
        Assert.Contains("mask_index 99999 is outside the vocabulary", PackError(dir, tmp));
    }

    [Fact]
    public void VocabularyWithRawUtf8EqualsEscapedVocabulary()
    {
        using var tmp = new TempDir();
        var reference = File.ReadAllBytes(WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors), tmp.File("ref.gguf")));
        var escaped = File.ReadAllText(Path.Combine(Fixtures.TinyEnfr, "vocab.json"));
        Assert.Contains("\\u0153", escaped);
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors);
        using (var doc = JsonDocument.Parse(escaped))
        using (var f = File.Create(Path.Combine(dir, "vocab.json")))
        using (var w = new Utf8JsonWriter(f, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            doc.WriteTo(w);
        Assert.Contains("œ", File.ReadAllText(Path.Combine(dir, "vocab.json")));
        Assert.Equal(reference, File.ReadAllBytes(WeightsTool.Pack(dir, tmp.File("x.gguf"))));
    }

    [Fact]
    public void MergesWithACountColumnAndCrlfParseTheSame()
    {
        using var tmp = new TempDir();
        var reference = File.ReadAllBytes(WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors), tmp.File("ref.gguf")));
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, Safetensors);
        var lines = File.ReadAllText(Path.Combine(Fixtures.TinyEnfr, "merges.txt")).Split('\n');
        Assert.Equal("", lines[^1]);
        var rewritten = string.Join("\n", lines[..^1].Select((l, i) => l + "\t" + (5000 - i) + "\r")) + "\n";
        File.WriteAllText(Path.Combine(dir, "merges.txt"), rewritten);
        Assert.Equal(reference, File.ReadAllBytes(WeightsTool.Pack(dir, tmp.File("x.gguf"))));
    }

    internal static byte[] ReadEntry(string zipPath, string entryName)
    {
        using var zip = ZipFile.OpenRead(zipPath);
        using var s = zip.GetEntry(entryName)!.Open();
        var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }
}

/// <summary>
/// Writes a zip archive of stored entries by hand, without any ZIP64 record (System.IO.Compression
/// adds one at 65,535 entries), so every count, size and offset must fit the classic fields.
/// </summary>
internal static class PlainZip
{
    public static void Write(string path, IReadOnlyList<(string Name, byte[] Data)> entries)
    {
        using var f = new BinaryWriter(File.Create(path));
        var offsets = new List<uint>();
        foreach (var (name, data) in entries)
        {
            offsets.Add(checked((uint)f.BaseStream.Position));
            var n = Encoding.UTF8.GetBytes(name);
            f.Write(0x04034b50u); f.Write((ushort)20); f.Write((ushort)0); f.Write((ushort)0); f.Write(0u);
            f.Write(System.IO.Hashing.Crc32.HashToUInt32(data)); f.Write((uint)data.Length); f.Write((uint)data.Length);
            f.Write((ushort)n.Length); f.Write((ushort)0); f.Write(n); f.Write(data);
        }
        uint directory = checked((uint)f.BaseStream.Position);
        for (int i = 0; i < entries.Count; i++)
        {
            var (name, data) = entries[i];
            var n = Encoding.UTF8.GetBytes(name);
            f.Write(0x02014b50u); f.Write((ushort)20); f.Write((ushort)20); f.Write((ushort)0); f.Write((ushort)0); f.Write(0u);
            f.Write(System.IO.Hashing.Crc32.HashToUInt32(data)); f.Write((uint)data.Length); f.Write((uint)data.Length);
            f.Write((ushort)n.Length); f.Write((ushort)0); f.Write((ushort)0); f.Write((ushort)0); f.Write((ushort)0); f.Write(0u);
            f.Write(offsets[i]); f.Write(n);
        }
        uint size = checked((uint)f.BaseStream.Position) - directory;
        f.Write(0x06054b50u); f.Write((ushort)0); f.Write((ushort)0);
        f.Write(checked((ushort)entries.Count)); f.Write(checked((ushort)entries.Count)); f.Write(size); f.Write(directory); f.Write((ushort)0);
    }
}

/// <summary>Builds torch-style zip checkpoints (entries stored) for the tests.</summary>
internal static class TorchZip
{
    public static void Write(string path, string folder, byte[] pickle, Dictionary<string, byte[]> storages)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        void Add(string name, byte[] data)
        {
            using var s = zip.CreateEntry(folder + "/" + name, CompressionLevel.NoCompression).Open();
            s.Write(data);
        }
        Add("data.pkl", pickle);
        foreach (var (key, data) in storages)
            Add("data/" + key, data);
        Add("version", "3\n"u8.ToArray());
    }

    /// <summary>A pickle that calls module.name("echo pwned"), as an attack would.</summary>
    public static byte[] CallingPickle(string module, string name, bool stackGlobal)
    {
        var m = new MemoryStream();
        m.Write([0x80, (byte)(stackGlobal ? 4 : 2)]);
        if (stackGlobal)
        {
            ShortUnicode(m, module);
            ShortUnicode(m, name);
            m.WriteByte(0x93);
        }
        else
        {
            m.Write(Encoding.ASCII.GetBytes("c" + module + "\n" + name + "\n"));
        }
        ShortUnicode(m, "echo pwned");
        m.WriteByte(0x85);
        m.WriteByte((byte)'R');
        m.WriteByte((byte)'.');
        return m.ToArray();
    }

    private static void ShortUnicode(MemoryStream m, string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        m.WriteByte(0x8c);
        m.WriteByte((byte)b.Length);
        m.Write(b);
    }
}
