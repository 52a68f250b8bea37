using System.Text;
using XlmEdge.Kernels;
using XlmEdge.Model;
using XlmEdge.Tokenization;
using XlmEdge.Weights;
#if NET9_0_OR_GREATER
using Gate = System.Threading.Lock;
#else
using Gate = object;   // net8.0 has no Lock type: Monitor on a plain object
#endif

namespace XlmEdge;

/// <summary>Options for <see cref="XlmModel.Load"/>.</summary>
public sealed class XlmModelOptions
{
    /// <summary>Threads that run the kernels, the calling thread included; default: one per core.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Where the forward pass runs; default <see cref="XlmBackend.Cpu"/>. Cuda and Auto need <see cref="BackendProvider"/>.</summary>
    public XlmBackend Backend { get; init; } = XlmBackend.Cpu;

    /// <summary>
    /// The GPU backend, from the XlmEdge.Gpu package (<c>IlgpuBackend.Cuda</c>), for JIT-hosted apps;
    /// Native AOT apps cannot run it and leave it null.
    /// </summary>
    public XlmBackendProvider? BackendProvider { get; init; }

    /// <summary>
    /// Whether to lock the mapped model file in RAM at load (<c>mlock</c> on Linux and macOS,
    /// <c>VirtualLock</c> on Windows), so that the operating system cannot page the weights out between
    /// calls and a later call never waits on reading them back. Default false: the weights are mapped
    /// and read on demand. Loading then reads the whole file, and fails with a <see cref="MemoryLockException"/>
    /// that names the limit to raise when the process may not lock that much (Linux: RLIMIT_MEMLOCK,
    /// <c>ulimit -l</c>, unless it has CAP_IPC_LOCK).
    /// </summary>
    public bool LockInMemory { get; init; }

    /// <summary>
    /// Whether a geometry with a preset runs the preset's generated forward (the default); false runs
    /// the generic loop, so that the benchmark and the tests can compare the two on one model file.
    /// </summary>
    internal bool UseGeneratedForward { get; init; } = true;
}

/// <summary>
/// An XLM model mapped from a GGUF file made by <c>xlmedge-weights pack</c>: a masked language
/// model (fill-mask) or a causal one (<see cref="IsCausal"/>: generation and scoring).
/// </summary>
/// <remarks>
/// Loading maps the file read-only and checks every tensor's name and shape; the weights are used
/// in place, so the file must stay on disk while the model is open. Every method is thread-safe:
/// concurrent calls are serialised, because each call already uses all <see cref="XlmModelOptions.Threads"/>.
/// After the first call of a given size, a call allocates only the results it returns.
/// </remarks>
public sealed partial class XlmModel : IDisposable
{
    /// <summary>Most masks one call may fill (over all inputs of a batch).</summary>
    public const int MaxMasksPerCall = 64;

    private readonly GgufFile _file;
    private readonly XlmWeights _weights;
    private readonly IEncoderBackend _backend;
    private readonly Gate _gate = new();
    private bool _disposed;

    // Per-call buffers, grown to the largest call seen and reused.
    private int[] _packedIds = new int[512];
    private int[] _lengths = new int[8];
    private int[] _languages = new int[8];
    private int[] _maskRows = new int[MaxMasksPerCall];
    private int[] _allRows = [];
    private float[] _logits = [];
    private int[] _topK = [];
    private readonly StringBuilder _sequence = new();

    private XlmModel(GgufFile file, XlmConfig config, XlmTokenizer tokenizer, XlmWeights weights, IEncoderBackend backend, string? fallback)
    {
        _file = file;
        Config = config;
        Tokenizer = tokenizer;
        _weights = weights;
        _backend = backend;
        BackendDescription = fallback is null ? backend.Description : $"{backend.Description} (auto: {fallback})";
    }

    /// <summary>The model's hyper-parameters.</summary>
    public XlmConfig Config { get; }

    /// <summary>The model's tokenizer (vocabulary and merges come from the same file).</summary>
    public XlmTokenizer Tokenizer { get; }

    /// <summary>Where the forward pass runs: <see cref="XlmBackend.Cpu"/> or <see cref="XlmBackend.Cuda"/> (never Auto).</summary>
    public XlmBackend Backend => _backend.Kind;

    /// <summary>
    /// For people: the device and kernels that run, e.g. "cpu: avx2+fma, 2 threads"; when
    /// <see cref="XlmBackend.Auto"/> fell back to the CPU, also why.
    /// </summary>
    public string BackendDescription { get; }

    /// <summary>
    /// How the file stores the weight matrices: <c>f16</c>, <c>f32</c> or <c>q8</c> (int8 with a scale per row,
    /// run by the int8 kernels on <see cref="XlmRuntime.Int8Path"/>).
    /// </summary>
    public string WeightType => _weights.WordEmbeddings.Type switch
    {
        Model.WeightType.F16 => "f16",
        Model.WeightType.Q8 => "q8",
        _ => "f32",
    };

    /// <summary>The backend itself, for benchmarks and tests.</summary>
    internal IEncoderBackend EncoderBackend => _backend;

    /// <summary>The CPU backend: causal models always run on it (<see cref="CreateBackend"/>).</summary>
    private CpuEncoderBackend Cpu => (CpuEncoderBackend)_backend;

    /// <summary>The preset whose generated, unrolled forward runs this model; null when the generic forward (or a device) does.</summary>
    internal XlmPreset? GeneratedForward => (_backend as CpuEncoderBackend)?.GeneratedPreset;

    /// <summary>Maps a GGUF model file and prepares it for inference.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelFileException">The file is malformed or not an XLM model.</exception>
    /// <exception cref="BackendUnavailableException"><see cref="XlmBackend.Cuda"/> was asked for and no CUDA device (or no provider) is there.</exception>
    /// <exception cref="DeviceOutOfMemoryException">The device lacks the memory for the weights.</exception>
    public static XlmModel Load(string path, XlmModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new XlmModelOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Threads, 1, nameof(options.Threads));
        if (!Enum.IsDefined(options.Backend))
            throw new ArgumentOutOfRangeException(nameof(options), $"unknown backend {options.Backend}");
        var file = GgufFile.Open(path);
        try
        {
            var (config, tokenizer, weights) = ModelFile.Open(file);
            if (options.LockInMemory)
                file.LockInMemory();
            var backend = CreateBackend(options, config, weights, out string? fallback);
            return new XlmModel(file, config, tokenizer, weights, backend, fallback);
        }
        catch (ModelFileException e)
        {
            file.Dispose();
            throw new ModelFileException($"{path}: {e.Message}", e);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The backend <paramref name="options"/> ask for; for Auto, the CPU when no device is there (<paramref name="fallback"/> says why).</summary>
    private static IEncoderBackend CreateBackend(XlmModelOptions options, XlmConfig config, XlmWeights weights, out string? fallback)
    {
        fallback = null;
        if (options.Backend == XlmBackend.Cpu)
            return new CpuEncoderBackend(config, weights, options);
        string? unavailable = options.BackendProvider is null
            ? "no GPU backend: XlmModelOptions.BackendProvider is not set (it comes from the XlmEdge.Gpu package, which Native AOT builds cannot use)"
            : config.Geometry.IsCausal
                ? "the GPU backend runs masked language models (fill-mask); causal models run on the CPU"
                : weights.WordEmbeddings.Type == Model.WeightType.Q8
                    ? "the GPU backend runs f16 and f32 files; q8 files run on the CPU's int8 kernels"
                    : null;
        if (unavailable is not null)
        {
            if (options.Backend == XlmBackend.Cuda)
                throw new BackendUnavailableException(unavailable);
            fallback = unavailable;
            return new CpuEncoderBackend(config, weights, options);
        }
        try
        {
            return options.BackendProvider!.Create(config.Geometry, weights);
        }
        catch (Exception e) when (options.Backend == XlmBackend.Auto && e is BackendUnavailableException or DeviceOutOfMemoryException)
        {
            fallback = e.Message;
            return new CpuEncoderBackend(config, weights, options);
        }
    }

    /// <summary>Predicts the tokens behind every mask of <paramref name="text"/>.</summary>
    /// <param name="text">Text with one or more masks (&lt;special1&gt;).</param>
    /// <param name="language">Language code, one of <see cref="XlmConfig.Languages"/>.</param>
    /// <param name="topK">Candidates per mask, at least 1; more than the vocabulary returns the whole vocabulary.</param>
    /// <exception cref="InvalidInputException">Unknown language, no mask, too many masks, or more tokens than the context.</exception>
    /// <exception cref="ModelFileException">The model produced non-finite logits (its weights hold NaN or infinity).</exception>
    public FillMaskResult FillMask(string text, string language, int topK = 5) =>
        FillMask([new FillMaskInput(text, language)], topK)[0];

    /// <summary>Fills several texts in one pass; each result equals (within float rounding) a call on that text alone.</summary>
    /// <param name="inputs">The texts, each with its language and optionally <see cref="FillMaskInput.Targets"/>.</param>
    /// <param name="topK">Candidates per mask, at least 1; clamped to the vocabulary size, or to the number of targets.</param>
    /// <exception cref="InvalidInputException">Unknown language, no mask, too many masks, more tokens than the context, or a target with no token.</exception>
    /// <exception cref="ModelFileException">The model produced non-finite logits (its weights hold NaN or infinity).</exception>
    public IReadOnlyList<FillMaskResult> FillMask(IReadOnlyList<FillMaskInput> inputs, int topK = 5)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var encoded = new TokenizedText[inputs.Count];
        var targets = new int[inputs.Count][];
        bool anyTargets = false;
        for (int i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i] ?? throw new ArgumentNullException(nameof(inputs), $"input {i} is null");
            encoded[i] = Tokenizer.Encode(input.Text, input.Language);
            if (input.Targets is not null)
            {
                targets[i] = TargetIds(input.Targets, input.Language);
                anyTargets = true;
            }
        }
        var ids = new int[encoded.Length][];
        var languages = new int[encoded.Length];
        for (int i = 0; i < encoded.Length; i++)
        {
            ids[i] = [.. encoded[i].Ids];
            languages[i] = encoded[i].LanguageId;
        }
        return Run(ids, languages, topK, i => encoded[i].Tokens, anyTargets ? targets : null);
    }

    /// <summary>Each target's first BPE unit, once each, as Hugging Face's pipeline takes <c>targets</c>.</summary>
    private int[] TargetIds(IReadOnlyList<string> targets, string language)
    {
        var ids = new List<int>(targets.Count);
        foreach (var target in targets)
        {
            ArgumentNullException.ThrowIfNull(target, nameof(targets));
            var encoded = Tokenizer.Encode(target, language).Ids;
            if (encoded.Count <= 2)
                throw new InvalidInputException($"target '{target}' has no token in language '{language}'");
            if (!ids.Contains(encoded[1]))
                ids.Add(encoded[1]);
        }
        if (ids.Count == 0)
            throw new InvalidInputException("the list of targets is empty");
        return [.. ids];
    }

    /// <summary>Fill-mask on model input ids (&lt;s&gt; ... &lt;/s&gt; included), for callers that tokenize themselves.</summary>
    public FillMaskResult FillMaskIds(ReadOnlySpan<int> inputIds, int languageId, int topK = 5) =>
        Run([inputIds.ToArray()], [languageId], topK, tokens: null, targets: null)[0];

    /// <summary>Batched <see cref="FillMaskIds(ReadOnlySpan{int}, int, int)"/>.</summary>
    public IReadOnlyList<FillMaskResult> FillMaskIds(IReadOnlyList<int[]> batchInputIds, IReadOnlyList<int> languageIds, int topK = 5)
    {
        ArgumentNullException.ThrowIfNull(batchInputIds);
        ArgumentNullException.ThrowIfNull(languageIds);
        if (batchInputIds.Count != languageIds.Count)
            throw new ArgumentException("one language id per input is needed", nameof(languageIds));
        // Results keep their input ids: copy them so the caller may reuse its arrays.
        var copies = new int[batchInputIds.Count][];
        for (int i = 0; i < copies.Length; i++)
            copies[i] = batchInputIds[i]?.ToArray() ?? throw new ArgumentNullException(nameof(batchInputIds), $"input {i} is null");
        return Run(copies, languageIds, topK, tokens: null, targets: null);
    }

    /// <summary>The final hidden states of <paramref name="text"/>.</summary>
    public EncodedText Encode(string text, string language)
    {
        var tokenized = Tokenizer.Encode(text, language);
        int[] ids = [.. tokenized.Ids];
        var hidden = new float[ids.Length * Config.Geometry.EmbeddingDimension];
        EncodeIds(ids, tokenized.LanguageId, hidden);
        return new EncodedText(ids, Config.Geometry.EmbeddingDimension, hidden);
    }

    /// <summary>Writes the final hidden states [inputIds.Length, d] of one input into <paramref name="hidden"/>; allocates nothing.</summary>
    public void EncodeIds(ReadOnlySpan<int> inputIds, int languageId, Span<float> hidden)
    {
        CheckIds(inputIds, 0);
        CheckLanguage(languageId);
        int d = Config.Geometry.EmbeddingDimension;
        if (hidden.Length < inputIds.Length * d)
            throw new ArgumentException($"hidden needs {inputIds.Length * d} floats", nameof(hidden));
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (Config.Geometry.IsCausal)
            {
                // each position sees itself and the positions before it (see XlmModel.Causal.cs)
                var decoder = Decoder();
                decoder.Reset();
                decoder.Append(inputIds, languageId).CopyTo(hidden);
                return;
            }
            Span<int> lengths = [inputIds.Length];
            Span<int> languages = [languageId];
            _backend.Run(inputIds, lengths, languages, AllRows(inputIds.Length), hidden[..(inputIds.Length * d)], []);
        }
    }

    /// <summary>Releases the worker threads or the device memory, and the file mapping.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            _backend.Dispose();
            _file.Dispose();
        }
    }

    private IReadOnlyList<FillMaskResult> Run(IReadOnlyList<int[]> inputs, IReadOnlyList<int> languages, int topK,
        Func<int, IReadOnlyList<string>>? tokens, int[]?[]? targets)
    {
        RequireMasked();
        if (topK < 1)
            throw new ArgumentOutOfRangeException(nameof(topK), topK, "top-k must be at least 1");
        topK = Math.Min(topK, Config.Geometry.VocabularySize);
        if (inputs.Count == 0)
            return [];
        int total = 0, masks = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            var ids = inputs[i] ?? throw new ArgumentNullException(nameof(inputs), $"input {i} is null");
            CheckIds(ids, i);
            CheckLanguage(languages[i]);
            int m = ids.AsSpan().Count(Config.MaskId);
            if (m == 0)
                throw new InvalidInputException(Prefix(inputs.Count, i) + $"there is no mask token ({Tokenizer.TokenOf(Config.MaskId)}) to fill");
            masks += m;
            total += ids.Length;
        }
        if (masks > MaxMasksPerCall)
            throw new InvalidInputException($"{masks} masks in one call; at most {MaxMasksPerCall} are allowed");

        lock (_gate)
        {
            var logits = EncodeAndProject(inputs, languages, total);
            var results = new FillMaskResult[inputs.Count];
            int row = 0;
            for (int i = 0; i < inputs.Count; i++)
            {
                var ids = inputs[i];
                var predictions = new List<MaskPrediction>();
                for (int p = 0; p < ids.Length; p++)
                {
                    if (ids[p] != Config.MaskId)
                        continue;
                    var rowLogits = logits.Slice(row * Config.Geometry.VocabularySize, Config.Geometry.VocabularySize);
                    predictions.Add(new MaskPrediction(p, Candidates(ids, p, rowLogits, topK, targets?[i])));
                    row++;
                }
                results[i] = new FillMaskResult(tokens?.Invoke(i) ?? TokensOf(ids), ids, predictions);
            }
            return results;
        }
    }

    /// <summary>The full logit rows [masks][V] of every mask, in input order (for tests and diagnostics).</summary>
    internal float[][] MaskLogits(IReadOnlyList<int[]> inputs, IReadOnlyList<int> languages)
    {
        RequireMasked();
        int total = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            CheckIds(inputs[i], i);
            CheckLanguage(languages[i]);
            total += inputs[i].Length;
        }
        lock (_gate)
        {
            var logits = EncodeAndProject(inputs, languages, total);
            int v = Config.Geometry.VocabularySize;
            var rows = new float[logits.Length / v][];
            for (int m = 0; m < rows.Length; m++)
                rows[m] = logits.Slice(m * v, v).ToArray();
            return rows;
        }
    }

    /// <summary>Packs the inputs back to back, runs the encoder and the output layer at the masks. Caller holds the lock.</summary>
    private ReadOnlySpan<float> EncodeAndProject(IReadOnlyList<int[]> inputs, IReadOnlyList<int> languages, int total)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Grow(ref _packedIds, total);
        Grow(ref _lengths, inputs.Count);
        Grow(ref _languages, inputs.Count);
        int at = 0, maskCount = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            var ids = inputs[i];
            ids.CopyTo(_packedIds, at);
            _lengths[i] = ids.Length;
            _languages[i] = languages[i];
            for (int p = 0; p < ids.Length; p++)
            {
                if (ids[p] == Config.MaskId)
                    _maskRows[maskCount++] = at + p;
            }
            at += ids.Length;
        }

        int v = Config.Geometry.VocabularySize;
        Grow(ref _logits, maskCount * v);
        var logits = _logits.AsSpan(0, maskCount * v);
        _backend.Run(_packedIds.AsSpan(0, total), _lengths.AsSpan(0, inputs.Count), _languages.AsSpan(0, inputs.Count),
            _maskRows.AsSpan(0, maskCount), [], logits);
        return logits;
    }

    /// <summary>0, 1, ..., count - 1: every row of one input.</summary>
    private ReadOnlySpan<int> AllRows(int count)
    {
        if (_allRows.Length < count)
        {
            _allRows = new int[Math.Max(count, Config.Geometry.ContextLength)];
            for (int i = 0; i < _allRows.Length; i++)
                _allRows[i] = i;
        }
        return _allRows.AsSpan(0, count);
    }

    private FillMaskCandidate[] Candidates(int[] ids, int position, ReadOnlySpan<float> logits, int topK, int[]? targets)
    {
        CheckFinite(logits, $"for the mask at position {position}");
        Span<int> best;
        if (targets is null)
        {
            Grow(ref _topK, topK);
            best = _topK.AsSpan(0, topK);
            TopK.Select(logits, best);
        }
        else
        {
            // Few targets: order them by logit (ties by id, as TopK.Select does) and keep topK.
            var scored = new (float Logit, int Id)[targets.Length];
            for (int t = 0; t < targets.Length; t++)
                scored[t] = (logits[targets[t]], targets[t]);
            Array.Sort(scored, static (a, b) => a.Logit != b.Logit ? b.Logit.CompareTo(a.Logit) : a.Id.CompareTo(b.Id));
            best = Array.ConvertAll(scored, static s => s.Id).AsSpan(0, Math.Min(topK, scored.Length));
        }
        float logSumExp = Softmax.LogSumExp(logits);
        bool singleMask = ids.AsSpan().Count(Config.MaskId) == 1;
        var candidates = new FillMaskCandidate[best.Length];
        for (int c = 0; c < best.Length; c++)
        {
            int id = best[c];
            candidates[c] = new FillMaskCandidate(id, Tokenizer.TokenOf(id), Tokenizer.TokenString(id), Math.Exp((double)logits[id] - logSumExp),
                logits[id], Sequence(ids, position, id, skipSpecial: singleMask));
        }
        return candidates;
    }

    /// <summary>
    /// The input with <paramref name="id"/> in place of the mask at <paramref name="position"/>, decoded
    /// as Hugging Face's pipeline does: special tokens dropped when there is one mask, kept (so
    /// the other masks stay visible) when there are several.
    /// </summary>
    private string Sequence(int[] ids, int position, int id, bool skipSpecial)
    {
        var text = _sequence.Clear();
        for (int p = 0; p < ids.Length; p++)
        {
            int token = p == position ? id : ids[p];
            bool special = Tokenizer.IsSpecial(token);
            if (special && skipSpecial)
                continue;
            ReadOnlySpan<char> s = Tokenizer.TokenOf(token);
            if (special)
            {
                AppendSpace(text);
                text.Append(s).Append(' ');
            }
            else if (s.EndsWith("</w>", StringComparison.Ordinal))
            {
                text.Append(s[..^4]);
                AppendSpace(text);
            }
            else
                text.Append(s);
        }
        while (text.Length > 0 && text[^1] == ' ')
            text.Length--;
        return text.ToString();
    }

    /// <summary>One space between words, none at the start: the spacing of HF's join-and-strip.</summary>
    private static void AppendSpace(StringBuilder text)
    {
        if (text.Length > 0 && text[^1] != ' ')
            text.Append(' ');
    }

    private string[] TokensOf(int[] ids)
    {
        int start = ids.Length > 0 && ids[0] == Tokenizer.BosId ? 1 : 0;
        int end = ids.Length > start && ids[^1] == Tokenizer.EosId ? ids.Length - 1 : ids.Length;
        var tokens = new string[end - start];
        for (int i = start; i < end; i++)
            tokens[i - start] = Tokenizer.TokenOf(ids[i]);
        return tokens;
    }

    private void CheckIds(ReadOnlySpan<int> ids, int index)
    {
        if (ids.IsEmpty)
            throw new InvalidInputException($"input {index} is empty");
        if (ids.Length > Config.Geometry.ContextLength)
            throw new InvalidInputException(
                $"input {index} is {ids.Length} tokens long; the model takes at most {Config.Geometry.ContextLength} tokens, <s> and </s> included");
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)Config.Geometry.VocabularySize)
                throw new InvalidInputException($"input {index} has token id {id}, outside the vocabulary of {Config.Geometry.VocabularySize}");
        }
    }

    private void CheckLanguage(int languageId)
    {
        if ((uint)languageId >= (uint)Config.Languages.Count)
            throw new InvalidInputException($"language id {languageId} is not one of the model's {Config.Languages.Count} languages ({string.Join(", ", Config.Languages)})");
    }

    private static string Prefix(int count, int index) => count == 1 ? "" : $"input {index}: ";

    private static void Grow<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
            buffer = new T[Math.Max(length, buffer.Length * 2)];
    }
}
