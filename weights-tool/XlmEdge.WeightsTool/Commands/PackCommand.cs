using System.Globalization;
using XlmEdge.Model;
using XlmEdge.Weights;
using XlmEdge.WeightsTool.Checkpoints;
using XlmEdge.WeightsTool.Gguf;

namespace XlmEdge.WeightsTool.Commands;

/// <summary>What <c>pack</c> is asked to do.</summary>
/// <param name="Checkpoint">The Hugging Face checkpoint folder.</param>
/// <param name="Output">The .gguf file to write (replaced atomically if it exists).</param>
/// <param name="MatrixType">How matrices are stored: F16 or F32 (1-D tensors are always F32).</param>
/// <param name="Name">general.name: a name, a Hugging Face id (owner/name) or a URL; null: from config.json.</param>
/// <param name="License">general.license; null: from the model card (README.md).</param>
/// <param name="ShowProgress">Show a progress line (a terminal): it is rewritten in place and erased at the end.</param>
/// <param name="Causal">Pack a causal (xlm-clm-*) model even when config.json does not say so (see <see cref="HfConfig.Load"/>).</param>
internal sealed record PackOptions(string Checkpoint, string Output, GgufTensorType MatrixType = GgufTensorType.F16,
    string? Name = null, string? License = null, bool ShowProgress = false, bool Causal = false);

/// <summary>
/// pack HF_DIR -o OUT.gguf [--causal]: reads config.json, tokenizer_config.json, vocab.json, merges.txt and
/// the model card, refuses a model the runtime cannot run (the runtime's own validation,
/// <see cref="ModelMetadata.Validate"/>), checks every tensor of the weight file against the schema
/// (<see cref="XlmTensors"/>), and writes one GGUF file atomically (<see cref="AtomicOutput"/>:
/// a temporary file in the destination folder, checked as loading would check it, hashed, then
/// renamed over the destination). Only regular files are read; the output may not be a device
/// or one of the files it is made from. Notes and warnings go to stderr only when pack succeeds:
/// on failure stderr is the one error line. The blocks' Linear weights are stored in row panels
/// (<see cref="GgufFormat.KeyLinearLayout"/>), the order the kernels stream them in.
/// </summary>
internal static class PackCommand
{
    private const long ProgressThresholdBytes = 64L << 20;

    /// <summary>The files of a checkpoint folder pack reads, besides the weight files.</summary>
    private static readonly string[] CheckpointTextFiles = ["config.json", "tokenizer_config.json", "vocab.json", "merges.txt", "README.md"];

    public static int Run(PackOptions options, TextWriter stdout, TextWriter stderr)
    {
        string directory = options.Checkpoint;
        if (!Directory.Exists(directory))
            throw new ModelFileException($"checkpoint folder '{directory}' not found");
        string output = Destination(options);
        var notes = new List<string>();
        void Note(string line) => notes.Add(line);

        var config = HfConfig.Load(directory, Note, options.Causal);
        var vocabulary = HfVocabulary.Load(directory, config.Geometry.VocabularySize, Note);
        var metadata = new ModelMetadata(config.Geometry, config.Languages, vocabulary.Tokens, vocabulary.Merges,
            config.DoLowercaseAndRemoveAccent, config.Specials, config.GeluActivation, config.SinusoidalEmbeddings,
            ModelMetadata.TokenTypesOf(vocabulary.Tokens));
        metadata.Validate();
        var provenance = Provenance.Resolve(options.Name, options.License, config.NameOrPath, directory, Note);
        string weightFile = Checkpoint.FindWeightFile(directory);
        using var checkpoint = Checkpoint.Open(weightFile);
        Note($"reading {Path.GetFileName(weightFile)} ({checkpoint.Format}, {checkpoint.Tensors.Count} entries)");
        var tensors = SelectTensors(config.Geometry, checkpoint, Note);

        var writer = new GgufWriter();
        AddMetadata(writer, metadata, provenance, options.MatrixType);
        var entries = tensors.Select(t => writer.AddTensor(t.Instance.GgufName, t.Instance.Shape, t.Instance.Spec.StoredType(options.MatrixType))).ToList();

        AtomicOutput.RemoveStale(Path.GetDirectoryName(output)!, Note);
        var converter = new TensorConverter();
        var progress = new Progress(writer, options.ShowProgress ? stderr : null);
        string hash;
        try
        {
            using var file = AtomicOutput.Create(output);
            var stream = file.Stream;
            long digitsOffset = writer.WriteHeader(stream);
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
            stream.Flush();
            // What was written must load: the reader's and the runtime's checks on the finished file.
            using (var written = GgufFile.Open(stream, file.TemporaryPath))
                ModelFile.Open(written);
            file.Commit();
        }
        finally
        {
            progress.Erase();
        }

        foreach (var note in notes)
            stderr.WriteLine(note);
        if (options.MatrixType == GgufTensorType.F16)
            stderr.WriteLine(converter.MaxRoundingErrorTensor is null
                ? "fp16: every matrix value is exactly representable (max rounding error 0)"
                : string.Create(CultureInfo.InvariantCulture, $"fp16: max rounding error {converter.MaxRoundingError:G6} (in {converter.MaxRoundingErrorTensor})"));
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {options.Output}: {entries.Count} tensors, {writer.FileLength} bytes, {GgufFormat.KeyContentHash} {hash}"));
        return 0;
    }

    /// <summary>
    /// The full path pack replaces: the output's final target when it is a symbolic link. Refused:
    /// a folder, a device, FIFO or socket (renaming over it would replace the node), and any file
    /// pack reads from the checkpoint (it would silently overwrite the checkpoint).
    /// </summary>
    private static string Destination(PackOptions options)
    {
        string output = Path.GetFullPath(options.Output);
        if (new FileInfo(output).LinkTarget is not null)
            output = new FileInfo(output).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? output;
        if (!Directory.Exists(Path.GetDirectoryName(output)))
            throw new DirectoryNotFoundException($"output folder '{Path.GetDirectoryName(output)}' does not exist");
        if (Directory.Exists(output))
            throw new IOException($"output '{options.Output}' is a folder");
        if (InputFiles.IsSpecialFile(output))
            throw new IOException($"output '{options.Output}' is a device, FIFO or socket; pack writes regular files only");
        if (InputFiles.Identity(output) is { } target)
        {
            foreach (var name in CheckpointTextFiles.Concat(Checkpoint.WeightFilePreference))
            {
                if (InputFiles.Identity(Path.Combine(options.Checkpoint, name)) == target)
                    throw new IOException($"output '{options.Output}' is the checkpoint's {name}; pack would overwrite its own input");
            }
        }
        return output;
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

    /// <summary>
    /// Every metadata key: the model's (what <see cref="ModelMetadata.Read"/> reads back) and, by
    /// GGUF convention, its provenance and file type, which the runtime does not need.
    /// </summary>
    private static void AddMetadata(GgufWriter w, ModelMetadata m, Provenance provenance, GgufTensorType matrixType)
    {
        var g = m.Geometry;
        w.AddString(GgufFormat.KeyArchitecture, GgufFormat.Architecture);
        if (provenance.Name is not null)
            w.AddString(GgufFormat.KeyName, provenance.Name);
        if (provenance.License is not null)
            w.AddString(GgufFormat.KeyLicense, provenance.License);
        if (provenance.Repository is not null)
            w.AddString(GgufFormat.KeySourceRepository, provenance.Repository);
        if (provenance.Url is not null)
            w.AddString(GgufFormat.KeySourceUrl, provenance.Url);
        w.AddUInt32(GgufFormat.KeyFileType, matrixType == GgufTensorType.F16 ? GgufFormat.FileTypeMostlyF16 : GgufFormat.FileTypeAllF32);
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
        if (m.TokenTypes is not null)
            w.AddInt32Array(GgufFormat.KeyTokenTypes, m.TokenTypes);
        w.AddString(GgufFormat.KeyLinearLayout, GgufFormat.LinearLayoutPanels);
        w.AddString(GgufFormat.KeyContentHash, GgufContentHash.Placeholder);
    }

    /// <summary>
    /// "packing: N%" every 10% on a terminal, for outputs worth waiting for: one line rewritten in
    /// place and erased at the end, so that a failure leaves only its error line.
    /// </summary>
    private sealed class Progress(GgufWriter writer, TextWriter? terminal)
    {
        private long _done;
        private int _lastTenth;
        private bool _shown;

        public void Advance(long bytes)
        {
            long total = writer.FileLength;
            if (terminal is null || total < ProgressThresholdBytes)
                return;
            _done += bytes;
            int tenth = (int)(_done * 10 / total);
            if (tenth > _lastTenth)
            {
                _lastTenth = tenth;
                _shown = true;
                terminal.Write(string.Create(CultureInfo.InvariantCulture, $"\rpacking: {tenth * 10}% ({_done >> 20} of {total >> 20} MiB)"));
                terminal.Flush();
            }
        }

        public void Erase()
        {
            if (_shown)
                terminal!.Write("\r\u001b[K");
        }
    }
}
