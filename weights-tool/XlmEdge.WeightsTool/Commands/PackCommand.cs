using System.Globalization;
using XlmEdge.Model;
using XlmEdge.Weights;
using XlmEdge.WeightsTool.Checkpoints;
using XlmEdge.WeightsTool.Gguf;

namespace XlmEdge.WeightsTool.Commands;

/// <summary>
/// pack HF_DIR -o OUT.gguf [--dtype f16|f32]: reads config.json, tokenizer_config.json,
/// vocab.json and merges.txt, refuses a model the runtime cannot run (the runtime's own
/// validation, <see cref="ModelMetadata.Validate"/>), checks every tensor of the weight file
/// against the schema (<see cref="XlmTensors"/>), and writes one GGUF file atomically (a
/// temporary file in the destination folder, checked as loading would check it, hashed, then
/// renamed over the destination). The blocks' Linear weights are stored in row panels
/// (<see cref="GgufFormat.KeyLinearLayout"/>), the order the kernels stream them in.
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
        var vocabulary = HfVocabulary.Load(checkpointDirectory, config.Geometry.VocabularySize, Note);
        var metadata = new ModelMetadata(config.Geometry, config.Languages, vocabulary.Tokens, vocabulary.Merges,
            config.DoLowercaseAndRemoveAccent, config.Specials, config.GeluActivation, config.SinusoidalEmbeddings,
            ModelMetadata.TokenTypesOf(vocabulary.Tokens));
        metadata.Validate();
        string weightFile = Checkpoint.FindWeightFile(checkpointDirectory);
        using var checkpoint = Checkpoint.Open(weightFile);
        Note($"reading {Path.GetFileName(weightFile)} ({checkpoint.Format}, {checkpoint.Tensors.Count} entries)");
        var tensors = SelectTensors(config.Geometry, checkpoint, Note);

        var matrixType = fp16 ? GgufTensorType.F16 : GgufTensorType.F32;
        var writer = new GgufWriter();
        AddMetadata(writer, metadata, GeneralName(checkpointDirectory));
        var entries = tensors.Select(t => writer.AddTensor(t.Instance.GgufName, t.Instance.Shape, t.Instance.Spec.StoredType(matrixType))).ToList();

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
                    converter.Write(checkpoint.File, tensors[i].Source, entries[i].Type, stream, progress.Advance,
                        panels: tensors[i].Instance.Spec.Role == TensorRole.Linear);
                }
                GgufWriter.WritePadding(stream, writer.FileLength);
                stream.Flush();
                hash = GgufContentHash.Format(GgufContentHash.Compute(stream, digitsOffset));
                stream.Position = digitsOffset;
                stream.Write(System.Text.Encoding.ASCII.GetBytes(hash[GgufContentHash.Prefix.Length..]));
                stream.Flush(flushToDisk: true);
            }
            // What was written must load: the reader's and the runtime's checks on the finished file.
            using (var written = GgufFile.Open(temporary))
                ModelFile.Open(written);
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

    /// <summary>The tensors to store, in file order, each checked for presence, type and shape.</summary>
    private static List<(TensorInstance Instance, CheckpointTensor Source)> SelectTensors(XlmGeometry geometry, Checkpoint checkpoint, Action<string> note)
    {
        var result = new List<(TensorInstance, CheckpointTensor)>(XlmTensors.CountIn(geometry));
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tensor in XlmTensors.In(geometry))
        {
            if (!checkpoint.Tensors.TryGetValue(tensor.HfName, out var t))
                throw new ModelFileException($"tensor '{tensor.HfName}' is missing from {checkpoint.File.Name}");
            CheckShapeAndType(t, tensor.Shape);
            result.Add((tensor, t));
            known.Add(tensor.HfName);
            if (tensor.Spec.TiedHfName is { } tiedName)
            {
                known.Add(tiedName);
                if (checkpoint.Tensors.TryGetValue(tiedName, out var tied))
                {
                    CheckShapeAndType(tied, tensor.Shape);
                    if (!SameData(checkpoint.File, tied, t))
                        throw new ModelFileException($"tensor '{tiedName}' differs from '{tensor.HfName}'; XlmEdge ties the output projection to the embeddings and cannot store an untied one");
                }
            }
        }
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

    /// <summary>Every metadata key, from the model's metadata: what <see cref="ModelMetadata.Read"/> reads back.</summary>
    private static void AddMetadata(GgufWriter w, ModelMetadata m, string name)
    {
        var g = m.Geometry;
        w.AddString(GgufFormat.KeyArchitecture, GgufFormat.Architecture);
        w.AddString(GgufFormat.KeyName, name);
        w.AddUInt32(GgufFormat.KeyAlignment, GgufFormat.Alignment);
        w.AddUInt32(GgufFormat.KeyVocabSize, (uint)g.VocabularySize);
        w.AddUInt32(GgufFormat.KeyEmbeddingLength, (uint)g.EmbeddingDimension);
        w.AddUInt32(GgufFormat.KeyBlockCount, (uint)g.Layers);
        w.AddUInt32(GgufFormat.KeyHeadCount, (uint)g.Heads);
        w.AddUInt32(GgufFormat.KeyFeedForwardLength, (uint)g.FeedForwardDimension);
        w.AddUInt32(GgufFormat.KeyContextLength, (uint)g.ContextLength);
        w.AddFloat32(GgufFormat.KeyLayerNormEpsilon, g.LayerNormEpsilon);
        w.AddStringArray(GgufFormat.KeyLanguages, m.Languages);
        w.AddBool(GgufFormat.KeyUseLangEmb, g.UsesLanguageEmbeddings);
        w.AddBool(GgufFormat.KeySinusoidalEmbeddings, m.SinusoidalEmbeddings);
        w.AddBool(GgufFormat.KeyCausal, g.IsCausal);
        w.AddBool(GgufFormat.KeyGeluActivation, m.GeluActivation);
        w.AddBool(GgufFormat.KeyDoLowercaseAndRemoveAccent, m.LowercaseAndRemoveAccent);
        w.AddString(GgufFormat.KeyTokenizerModel, GgufFormat.TokenizerModelName);
        w.AddStringArray(GgufFormat.KeyTokens, m.Tokens);
        w.AddStringArray(GgufFormat.KeyMerges, m.Merges);
        w.AddUInt32(GgufFormat.KeyBosTokenId, (uint)m.Specials.Bos);
        w.AddUInt32(GgufFormat.KeyEosTokenId, (uint)m.Specials.Eos);
        w.AddUInt32(GgufFormat.KeyPaddingTokenId, (uint)m.Specials.Pad);
        w.AddUInt32(GgufFormat.KeyUnknownTokenId, (uint)m.Specials.Unk);
        w.AddUInt32(GgufFormat.KeyMaskTokenId, (uint)m.Specials.Mask);
        w.AddString(GgufFormat.KeyLinearLayout, GgufFormat.LinearLayoutPanels);
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
