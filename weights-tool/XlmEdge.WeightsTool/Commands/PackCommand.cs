using System.Globalization;
using XlmEdge.Weights;
using XlmEdge.WeightsTool.Checkpoints;
using XlmEdge.WeightsTool.Gguf;

namespace XlmEdge.WeightsTool.Commands;

/// <summary>
/// pack HF_DIR -o OUT.gguf [--dtype f16|f32]: reads config.json, tokenizer_config.json,
/// vocab.json, merges.txt and one weight file, checks every tensor against the config, and
/// writes one GGUF file atomically (a temporary file in the destination folder, renamed when
/// complete and hashed).
/// </summary>
internal static class PackCommand
{
    private const long ProgressThresholdBytes = 64L << 20;

    public static int Run(string checkpointDirectory, string outputPath, bool fp16, TextWriter stdout, TextWriter stderr)
    {
        if (!Directory.Exists(checkpointDirectory))
            throw new ModelFileException($"checkpoint folder '{checkpointDirectory}' not found");
        string fullOutput = Path.GetFullPath(outputPath);
        if (!Directory.Exists(Path.GetDirectoryName(fullOutput)))
            throw new DirectoryNotFoundException($"output folder '{Path.GetDirectoryName(fullOutput)}' does not exist");
        if (Directory.Exists(fullOutput))
            throw new IOException($"output '{outputPath}' is a folder");
        void Note(string line) => stderr.WriteLine(line);

        var config = HfConfig.Load(checkpointDirectory, Note);
        var vocabulary = HfVocabulary.Load(checkpointDirectory, config.VocabSize, Note);
        string weightFile = Checkpoint.FindWeightFile(checkpointDirectory);
        using var checkpoint = Checkpoint.Open(weightFile);
        Note($"reading {Path.GetFileName(weightFile)} ({checkpoint.Format}, {checkpoint.Tensors.Count} entries)");
        var tensors = SelectTensors(config, checkpoint, Note);

        var writer = new GgufWriter();
        AddMetadata(writer, config, vocabulary, GeneralName(checkpointDirectory));
        var entries = tensors.Select(t => writer.AddTensor(t.Name, t.Shape,
            fp16 && t.Shape.Length == 2 ? GgufTensorType.F16 : GgufTensorType.F32)).ToList();

        var converter = new TensorConverter();
        string temporary = Path.Combine(Path.GetDirectoryName(fullOutput)!,
            "." + Path.GetFileName(fullOutput) + "." + Guid.NewGuid().ToString("N")[..12] + ".tmp");
        string hash;
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20))
            {
                long digitsOffset = writer.WriteHeader(stream);
                var progress = new Progress(writer.FileLength, stderr);
                for (int i = 0; i < tensors.Count; i++)
                {
                    GgufWriter.WritePadding(stream, writer.DataStart + entries[i].Offset);
                    converter.Write(checkpoint.File, tensors[i], entries[i].Type, stream, progress.Advance);
                }
                GgufWriter.WritePadding(stream, writer.FileLength);
                stream.Flush();
                hash = GgufContentHash.Format(GgufContentHash.Compute(stream, digitsOffset));
                stream.Position = digitsOffset;
                stream.Write(System.Text.Encoding.ASCII.GetBytes(hash[GgufContentHash.Prefix.Length..]));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullOutput, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }

        if (fp16)
            Note(converter.MaxRoundingErrorTensor is null
                ? "fp16: every matrix value is exactly representable (max rounding error 0)"
                : string.Create(CultureInfo.InvariantCulture, $"fp16: max rounding error {converter.MaxRoundingError:G6} (in {converter.MaxRoundingErrorTensor})"));
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {outputPath}: {entries.Count} tensors, {writer.FileLength} bytes, {GgufFormat.KeyContentHash} {hash}"));
        return 0;
    }

    /// <summary>The tensors to store, in HF order, each checked for presence, type and shape.</summary>
    private static List<CheckpointTensor> SelectTensors(HfConfig config, Checkpoint checkpoint, Action<string> note)
    {
        var expected = XlmTensorLayout.Expected(config);
        var result = new List<CheckpointTensor>(expected.Count);
        foreach (var (name, shape) in expected)
        {
            if (!checkpoint.Tensors.TryGetValue(name, out var t))
                throw new ModelFileException($"tensor '{name}' is missing from {checkpoint.File.Name}");
            CheckShapeAndType(t, shape);
            result.Add(t);
        }
        var embeddings = checkpoint.Tensors[XlmTensorLayout.Embeddings];
        if (checkpoint.Tensors.TryGetValue(XlmTensorLayout.TiedProjection, out var projection))
        {
            CheckShapeAndType(projection, embeddings.Shape);
            if (!SameData(checkpoint.File, projection, embeddings))
                throw new ModelFileException($"tensor '{XlmTensorLayout.TiedProjection}' differs from '{XlmTensorLayout.Embeddings}'; XlmEdge ties the output projection to the embeddings and cannot store an untied one");
        }
        var known = new HashSet<string>(expected.Select(e => e.Name), StringComparer.Ordinal) { XlmTensorLayout.TiedProjection };
        foreach (var name in checkpoint.Tensors.Keys.Where(n => !known.Contains(n)).Order(StringComparer.Ordinal))
            note($"note: ignoring checkpoint entry '{name}' (not used by XLMWithLMHeadModel inference)");
        return result;
    }

    private static void CheckShapeAndType(CheckpointTensor t, long[] shape)
    {
        if (!t.Shape.AsSpan().SequenceEqual(shape))
            throw new ModelFileException($"tensor '{t.Name}' has shape {SourceDTypes.FormatShape(t.Shape)}, expected {SourceDTypes.FormatShape(shape)}");
        if (!SourceDTypes.IsPackable(t.DType))
            throw new ModelFileException($"tensor '{t.Name}' is {t.DType}; only F32, F16 and BF16 weights can be packed");
    }

    private static bool SameData(MappedFile file, CheckpointTensor a, CheckpointTensor b)
    {
        if (a.DType != b.DType)
            return false;
        if (a.DataOffset == b.DataOffset && a.ByteLength == b.ByteLength)
            return true;
        const long Chunk = 1 << 24;
        for (long at = 0; at < a.ByteLength; at += Chunk)
        {
            long n = Math.Min(Chunk, a.ByteLength - at);
            if (!file.Span(a.DataOffset + at, n, a.Name).SequenceEqual(file.Span(b.DataOffset + at, n, b.Name)))
                return false;
        }
        return true;
    }

    private static void AddMetadata(GgufWriter w, HfConfig c, HfVocabulary v, string name)
    {
        w.AddString(GgufFormat.KeyArchitecture, GgufFormat.Architecture);
        w.AddString(GgufFormat.KeyName, name);
        w.AddUInt32(GgufFormat.KeyAlignment, GgufFormat.Alignment);
        w.AddUInt32(GgufFormat.KeyVocabSize, (uint)c.VocabSize);
        w.AddUInt32(GgufFormat.KeyEmbeddingLength, (uint)c.EmbDim);
        w.AddUInt32(GgufFormat.KeyBlockCount, (uint)c.NLayers);
        w.AddUInt32(GgufFormat.KeyHeadCount, (uint)c.NHeads);
        w.AddUInt32(GgufFormat.KeyFeedForwardLength, (uint)c.FeedForwardLength);
        w.AddUInt32(GgufFormat.KeyContextLength, (uint)c.MaxPositionEmbeddings);
        w.AddFloat32(GgufFormat.KeyLayerNormEpsilon, c.LayerNormEps);
        w.AddStringArray(GgufFormat.KeyLanguages, c.Languages);
        w.AddBool(GgufFormat.KeyUseLangEmb, c.HasLangEmbeddings);
        w.AddBool(GgufFormat.KeySinusoidalEmbeddings, c.SinusoidalEmbeddings);
        w.AddBool(GgufFormat.KeyCausal, c.Causal);
        w.AddBool(GgufFormat.KeyGeluActivation, c.GeluActivation);
        w.AddBool(GgufFormat.KeyDoLowercaseAndRemoveAccent, c.DoLowercaseAndRemoveAccent);
        w.AddUInt32(GgufFormat.KeyMaskTokenId, (uint)c.MaskIndex);
        w.AddString(GgufFormat.KeyTokenizerModel, GgufFormat.TokenizerModelName);
        w.AddStringArray(GgufFormat.KeyTokens, v.Tokens);
        w.AddStringArray(GgufFormat.KeyMerges, v.Merges);
        w.AddUInt32(GgufFormat.KeyBosTokenId, (uint)c.BosIndex);
        w.AddUInt32(GgufFormat.KeyEosTokenId, (uint)c.EosIndex);
        w.AddUInt32(GgufFormat.KeyPaddingTokenId, (uint)c.PadIndex);
        w.AddUInt32(GgufFormat.KeyUnknownTokenId, (uint)c.UnkIndex);
        w.AddString(GgufFormat.KeyContentHash, GgufContentHash.Placeholder);
    }

    private static string GeneralName(string directory) =>
        Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));

    /// <summary>Prints "packing: N%" every 10% on stderr, only for outputs worth waiting for.</summary>
    private sealed class Progress(long total, TextWriter stderr)
    {
        private long _done;
        private int _lastTenth;

        public void Advance(long bytes)
        {
            if (total < ProgressThresholdBytes)
                return;
            _done += bytes;
            int tenth = (int)(_done * 10 / total);
            if (tenth > _lastTenth)
            {
                _lastTenth = tenth;
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"packing: {tenth * 10}% ({_done >> 20} of {total >> 20} MiB)"));
            }
        }
    }
}
