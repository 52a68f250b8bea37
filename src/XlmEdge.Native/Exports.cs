using System.Buffers;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace XlmEdge.Native;

/// <summary>
/// The C ABI of include/xlmedge.h, over XlmEdge's public API only. Every entry point catches
/// everything: a .NET exception must never unwind into C, so each failure becomes a status code
/// plus a thread-local message.
/// </summary>
internal static unsafe class Exports
{
    private const int Ok = 0, ErrorArgument = 1, ErrorModelFile = 2, ErrorInput = 3, ErrorBufferTooSmall = 4, ErrorInternal = 5, ErrorMemoryLock = 6;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly byte[] Version = PinnedUtf8(XlmRuntime.Version);
    private static readonly byte[] Info = PinnedUtf8(InfoJson());
    private static readonly byte[] Empty = PinnedUtf8("");
    private static readonly byte[][] StatusNames =
    [
        PinnedUtf8("ok"), PinnedUtf8("invalid argument"), PinnedUtf8("bad model file"), PinnedUtf8("bad input"),
        PinnedUtf8("buffer too small"), PinnedUtf8("internal error"), PinnedUtf8("cannot lock the model in memory"),
    ];
    private static readonly byte[] UnknownStatus = PinnedUtf8("unknown status");

    // The calling thread's last error, in a pinned managed array: it dies with the thread (a native
    // allocation held by a [ThreadStatic] pointer leaked once per thread that ever failed).
    [ThreadStatic] private static byte[]? t_lastError;

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_version", CallConvs = [typeof(CallConvCdecl)])]
    private static byte* GetVersion() => Address(Version);

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_info", CallConvs = [typeof(CallConvCdecl)])]
    private static byte* GetInfo() => Address(Info);

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_last_error", CallConvs = [typeof(CallConvCdecl)])]
    private static byte* LastError() => Address(t_lastError ?? Empty);

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_status_string", CallConvs = [typeof(CallConvCdecl)])]
    private static byte* StatusString(int status) => Address((uint)status < (uint)StatusNames.Length ? StatusNames[status] : UnknownStatus);

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_get_model_info", CallConvs = [typeof(CallConvCdecl)])]
    private static int GetModelInfo(IntPtr model, ModelInfo* outInfo) => Guard(() =>
    {
        if (outInfo == null)
            throw new ArgumentNullException("out_info");
        if (outInfo->Size < (uint)sizeof(ModelInfo))
            throw new ArgumentException($"out_info->size is {outInfo->Size}; set it to sizeof(xlmedge_model_info) ({sizeof(ModelInfo)})");
        var m = Handles.Get(model);
        var geometry = m.Model.Config.Geometry;
        // Size tells the caller how much this library filled (a newer header's struct may be longer).
        *outInfo = new ModelInfo
        {
            Size = (uint)sizeof(ModelInfo),
            WeightType = m.Intern(m.Model.WeightType),
            VocabSize = geometry.VocabularySize,
            EmbeddingLength = geometry.EmbeddingDimension,
            BlockCount = geometry.Layers,
            HeadCount = geometry.Heads,
            ContextLength = geometry.ContextLength,
            LanguageCount = m.Model.Config.Languages.Count,
            MaskToken = m.Model.Config.MaskId,
            Causal = geometry.IsCausal ? 1 : 0,
        };
    });

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_model_default_params", CallConvs = [typeof(CallConvCdecl)])]
    private static ModelParams DefaultParams() => ModelParams.Defaults;

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_open_with_params", CallConvs = [typeof(CallConvCdecl)])]
    private static int OpenWithParams(byte* path, ModelParams* parameters, IntPtr* outModel) =>
        Guard(() => Open(path, parameters == null ? ModelParams.Defaults : Read(parameters, "params", "xlmedge_model_default_params()"), outModel));

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_open", CallConvs = [typeof(CallConvCdecl)])]
    private static int OpenThreads(byte* path, int threads, IntPtr* outModel) =>
        Guard(() => Open(path, ModelParams.Defaults with { Threads = threads }, outModel));

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_close", CallConvs = [typeof(CallConvCdecl)])]
    private static int Close(IntPtr model) => Guard(() =>
    {
        if (model != IntPtr.Zero)
            Handles.Remove(model).Dispose();
    });

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_fill_mask", CallConvs = [typeof(CallConvCdecl)])]
    private static int FillMask(IntPtr model, byte* text, byte* lang, int topK, Candidate* output, int capacity, int* outCount) => Guard(() =>
    {
        var inputs = new[] { new FillMaskInput(Text(text, "text"), Text(lang, "lang")) };
        WriteCandidates(model, inputs, topK, output, capacity, outCount);
    });

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_fill_mask_batch", CallConvs = [typeof(CallConvCdecl)])]
    private static int FillMaskBatch(IntPtr model, byte** texts, byte** langs, int count, int topK, Candidate* output, int capacity, int* outCount) => Guard(() =>
    {
        if (texts == null)
            throw new ArgumentNullException("texts");
        if (langs == null)
            throw new ArgumentNullException("langs");
        if (count < 1)
            throw new ArgumentException($"count is {count}; a batch has at least one text");
        var inputs = new FillMaskInput[count];
        for (int i = 0; i < count; i++)
            inputs[i] = new FillMaskInput(Text(texts[i], $"texts[{i}]"), Text(langs[i], $"langs[{i}]"));
        WriteCandidates(model, inputs, topK, output, capacity, outCount);
    });

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_fill_mask_json", CallConvs = [typeof(CallConvCdecl)])]
    private static int FillMaskJson(IntPtr model, byte* text, byte* lang, int topK, byte** outJson) => Guard(() =>
    {
        if (outJson == null)
            throw new ArgumentNullException("out_json");
        *outJson = null;
        var m = Handles.Get(model);
        string input = Text(text, "text"), language = Text(lang, "lang");
        CheckTopK(topK);
        *outJson = NativeUtf8(m.Model.FillMask(input, language, topK).ToJson());
    });

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_tokenize", CallConvs = [typeof(CallConvCdecl)])]
    private static int Tokenize(IntPtr model, byte* text, byte* lang, int* outIds, int capacity, int* outCount) => Guard(() =>
    {
        if (outCount == null)
            throw new ArgumentNullException("out_count");
        *outCount = 0;
        var m = Handles.Get(model);
        var ids = m.Model.Tokenizer.Encode(Text(text, "text"), Text(lang, "lang")).Ids;
        *outCount = ids.Count;
        CheckFits(ids.Count, outIds, capacity, "ids");
        for (int i = 0; i < ids.Count; i++)
            outIds[i] = ids[i];
    });

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_vocab_size", CallConvs = [typeof(CallConvCdecl)])]
    private static int VocabSize(IntPtr model, int* outSize) => Guard(() =>
        *NotNull(outSize, "out_size") = Handles.Get(model).Model.Config.Geometry.VocabularySize);

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_token_text", CallConvs = [typeof(CallConvCdecl)])]
    private static int TokenText(IntPtr model, int id, byte** outText) => Guard(() =>
    {
        if (outText == null)
            throw new ArgumentNullException("out_text");
        *outText = null;
        var m = Handles.Get(model);
        if ((uint)id >= (uint)m.Model.Config.Geometry.VocabularySize)
            throw new InvalidInputException($"token id {id} is outside the vocabulary of {m.Model.Config.Geometry.VocabularySize}");
        *outText = m.Intern(m.Model.Tokenizer.TokenOf(id));
    });

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_token_id", CallConvs = [typeof(CallConvCdecl)])]
    private static int TokenId(IntPtr model, byte* token, int* outId) => Guard(() =>
    {
        NotNull(outId, "out_id");
        var m = Handles.Get(model);
        string text = Text(token, "token");
        *outId = m.Model.Tokenizer.TryGetId(text, out int id) ? id : throw new InvalidInputException($"'{text}' is not in the vocabulary");
    });

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_language_count", CallConvs = [typeof(CallConvCdecl)])]
    private static int LanguageCount(IntPtr model, int* outCount) => Guard(() =>
        *NotNull(outCount, "out_count") = Handles.Get(model).Model.Config.Languages.Count);

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_language", CallConvs = [typeof(CallConvCdecl)])]
    private static int Language(IntPtr model, int index, byte** outLang) => Guard(() =>
    {
        if (outLang == null)
            throw new ArgumentNullException("out_lang");
        *outLang = null;
        var m = Handles.Get(model);
        var languages = m.Model.Config.Languages;
        if ((uint)index >= (uint)languages.Count)
            throw new InvalidInputException($"language index {index} is not one of the model's {languages.Count}");
        *outLang = m.Intern(languages[index]);
    });

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_language_id", CallConvs = [typeof(CallConvCdecl)])]
    private static int LanguageId(IntPtr model, byte* lang, int* outId) => Guard(() =>
    {
        NotNull(outId, "out_id");
        var m = Handles.Get(model);
        *outId = m.Model.Tokenizer.LanguageIdOf(Text(lang, "lang"));
    });

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_generate_default_params", CallConvs = [typeof(CallConvCdecl)])]
    private static GenerateParams DefaultGenerateParams() => GenerateParams.Defaults;

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_generate", CallConvs = [typeof(CallConvCdecl)])]
    private static int Generate(IntPtr model, byte* prompt, byte* lang, GenerateParams* parameters, int* outIds, int capacity, int* outCount, byte** outText) => Guard(() =>
    {
        if (outCount == null)
            throw new ArgumentNullException("out_count");
        *outCount = 0;
        if (outText != null)
            *outText = null;
        var m = Handles.Get(model);
        string text = Text(prompt, "prompt"), language = Text(lang, "lang");
        var (maxTokens, sampling) = Sampling(parameters);
        // Checked before any work: the new ids are only known once they are made.
        if (capacity < 0)
            throw new ArgumentException($"capacity is {capacity}");
        if (capacity < maxTokens)
            throw new ArgumentException($"capacity is {capacity}; out_ids needs room for max_tokens ({maxTokens}) ids");
        NotNull(outIds, "out_ids");
        var result = m.Model.Generate(text, language, maxTokens, sampling);
        for (int i = 0; i < result.GeneratedIds.Count; i++)
            outIds[i] = result.GeneratedIds[i];
        *outCount = result.GeneratedIds.Count;
        if (outText != null)
            *outText = NativeUtf8(result.Text);
    });

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_generate_json", CallConvs = [typeof(CallConvCdecl)])]
    private static int GenerateJson(IntPtr model, byte* prompt, byte* lang, GenerateParams* parameters, byte** outJson) => Guard(() =>
    {
        if (outJson == null)
            throw new ArgumentNullException("out_json");
        *outJson = null;
        var m = Handles.Get(model);
        string text = Text(prompt, "prompt"), language = Text(lang, "lang");
        var (maxTokens, sampling) = Sampling(parameters);
        *outJson = NativeUtf8(m.Model.Generate(text, language, maxTokens, sampling).ToJson());
    });

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_score", CallConvs = [typeof(CallConvCdecl)])]
    private static int Score(IntPtr model, byte* text, byte* lang, double* outLogLikelihood, double* outPerplexity,
        double* outTokenLogProbs, int capacity, int* outCount) => Guard(() =>
    {
        if (outCount == null)
            throw new ArgumentNullException("out_count");
        *outCount = 0;
        NotNull(outLogLikelihood, "out_log_likelihood");
        NotNull(outPerplexity, "out_perplexity");
        if (capacity < 0)
            throw new ArgumentException($"capacity is {capacity}");
        var m = Handles.Get(model);
        var result = m.Model.Score(Text(text, "text"), Text(lang, "lang"));
        var logProbs = result.TokenLogProbabilities;
        *outCount = logProbs.Count;
        *outLogLikelihood = result.LogLikelihood;
        *outPerplexity = result.Perplexity;
        // NULL with capacity 0 asks for the totals only.
        if (outTokenLogProbs == null && capacity == 0)
            return;
        CheckFits(logProbs.Count, outTokenLogProbs, capacity, "log probabilities");
        for (int i = 0; i < logProbs.Count; i++)
            outTokenLogProbs[i] = logProbs[i];
    });

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_score_json", CallConvs = [typeof(CallConvCdecl)])]
    private static int ScoreJson(IntPtr model, byte* text, byte* lang, byte** outJson) => Guard(() =>
    {
        if (outJson == null)
            throw new ArgumentNullException("out_json");
        *outJson = null;
        var m = Handles.Get(model);
        *outJson = NativeUtf8(m.Model.Score(Text(text, "text"), Text(lang, "lang")).ToJson());
    });

    /// <summary>max_tokens and the sampler from the caller's params (NULL: the defaults), checked before any work.</summary>
    private static (int MaxTokens, SamplingOptions Sampling) Sampling(GenerateParams* parameters)
    {
        var p = parameters == null ? GenerateParams.Defaults : Read(parameters, "params", "xlmedge_generate_default_params()");
        if (p.MaxTokens < 1)
            throw new ArgumentException($"max_tokens is {p.MaxTokens}; it must be at least 1");
        var sampling = new SamplingOptions { Temperature = p.Temperature, TopK = p.TopK, TopP = p.TopP, Seed = p.Seed };
        sampling.Validate();
        return (p.MaxTokens, sampling);
    }

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_free", CallConvs = [typeof(CallConvCdecl)])]
    private static void Free(void* p) => NativeMemory.Free(p);

    private static void Open(byte* path, ModelParams parameters, IntPtr* outModel)
    {
        if (outModel == null)
            throw new ArgumentNullException("out_model");
        *outModel = IntPtr.Zero;
        if (parameters.Backend != 0)
            throw new ArgumentException($"backend {parameters.Backend} is not available; this library has XLMEDGE_BACKEND_CPU (0) only");
        if (parameters.WeightType != 0)
            throw new ArgumentException($"weight_type {parameters.WeightType} is not available; this library has XLMEDGE_WEIGHTS_AS_STORED (0) only");
        if (path == null)
            throw new ArgumentNullException("path");
        string file = StrictUtf8Or(path, () => new ArgumentException("path is not valid UTF-8"));
        var options = parameters.Threads > 0
            ? new XlmModelOptions { Threads = parameters.Threads, LockInMemory = parameters.LockMemory != 0 }
            : new XlmModelOptions { LockInMemory = parameters.LockMemory != 0 };
        *outModel = Handles.Add(new NativeModel(XlmModel.Load(file, options)));
    }

    /// <summary>
    /// Reads a caller's versioned struct (its first field is its <c>size</c>): only the fields its header
    /// had, this library's defaults (<see cref="IVersioned{T}.Defaults"/>) for the rest.
    /// </summary>
    private static T Read<T>(T* parameters, string name, string defaults) where T : unmanaged, IVersioned<T>
    {
        uint size = *(uint*)parameters;
        if (size < sizeof(uint) || size > 4096)
            throw new ArgumentException($"{name}->size is {size}; start from {defaults}");
        var result = T.Defaults;
        Buffer.MemoryCopy(parameters, &result, sizeof(T), Math.Min(size, (uint)sizeof(T)));
        *(uint*)&result = (uint)sizeof(T);
        return result;
    }

    private static void WriteCandidates(IntPtr model, FillMaskInput[] inputs, int topK, Candidate* output, int capacity, int* outCount)
    {
        if (outCount == null)
            throw new ArgumentNullException("out_count");
        *outCount = 0;
        var m = Handles.Get(model);
        CheckTopK(topK);
        var results = m.Model.FillMask(inputs, topK);
        int needed = 0;
        foreach (var result in results)
            foreach (var mask in result.Masks)
                needed += mask.Candidates.Count;
        *outCount = needed;
        CheckFits(needed, output, capacity, "candidates");
        int i = 0;
        for (int input = 0; input < results.Count; input++)
        {
            foreach (var mask in results[input].Masks)
            {
                foreach (var c in mask.Candidates)
                {
                    output[i++] = new Candidate
                    {
                        InputIndex = input,
                        MaskPosition = mask.Position,
                        Token = c.Id,
                        Logit = c.Logit,
                        Score = c.Probability,
                        TokenStr = m.Intern(c.TokenString),
                    };
                }
            }
        }
    }

    private static void CheckTopK(int topK)
    {
        if (topK < 1)
            throw new ArgumentException($"top_k is {topK}; it must be at least 1");
    }

    private static void CheckFits(int needed, void* buffer, int capacity, string what)
    {
        if (capacity < 0)
            throw new ArgumentException($"capacity is {capacity}");
        if (needed > capacity)
            throw new BufferTooSmallException($"{needed} {what} do not fit in a buffer of {capacity}");
        if (buffer == null && needed > 0)
            throw new ArgumentNullException("out");
    }

    private static T* NotNull<T>(T* p, string name) where T : unmanaged =>
        p != null ? p : throw new ArgumentNullException(name);

    /// <summary>A text argument: NULL is an argument error, bytes that are not UTF-8 an input error.</summary>
    private static string Text(byte* utf8, string name)
    {
        if (utf8 == null)
            throw new ArgumentNullException(name);
        return StrictUtf8Or(utf8, () => new InvalidInputException($"{name} is not valid UTF-8"));
    }

    private static string StrictUtf8Or(byte* utf8, Func<Exception> error)
    {
        var bytes = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(utf8);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw error();
        }
    }

    private static int Guard(Action body)
    {
        try
        {
            body();
            return Ok;
        }
        catch (Exception e)
        {
            SetError(e is ArgumentNullException n && n.ParamName is { } p ? $"{p} is NULL" : e.Message);
            return e switch
            {
                BufferTooSmallException => ErrorBufferTooSmall,
                ModelFileException or FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException => ErrorModelFile,
                InvalidInputException => ErrorInput,
                MemoryLockException => ErrorMemoryLock,
                ArgumentException or ObjectDisposedException => ErrorArgument,
                _ => ErrorInternal,
            };
        }
    }

    private static void SetError(string message) => t_lastError = PinnedUtf8(message.ReplaceLineEndings(" "));

    /// <summary>A NUL-terminated UTF-8 copy in a pinned array: its address is stable while the array lives.</summary>
    internal static byte[] PinnedUtf8(string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        var bytes = GC.AllocateArray<byte>(n + 1, pinned: true);
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    internal static byte* Address(byte[] pinned) => (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));

    /// <summary>A NUL-terminated UTF-8 copy the caller frees with xlmedge_free.</summary>
    private static byte* NativeUtf8(string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        var p = (byte*)NativeMemory.Alloc((nuint)n + 1);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
        p[n] = 0;
        return p;
    }

    /// <summary>xlmedge_info's JSON: the version, the ABI number (the SONAME's, from xlmedge.h via the build) and the SIMD path.</summary>
    private static string InfoJson()
    {
        string abi = typeof(Exports).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "XlmEdgeAbiVersion").Value!;
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping: "avx2+fma", not "avx2\u002Bfma" (CI and users grep for the path).
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("version", XlmRuntime.Version);
            writer.WriteNumber("abi", int.Parse(abi, System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteString("simd", XlmRuntime.SimdPath);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private sealed class BufferTooSmallException(string message) : Exception(message);

    /// <summary>A C struct whose first field is its size in the caller's header, with this library's defaults.</summary>
    private interface IVersioned<T> where T : unmanaged
    {
        static abstract T Defaults { get; }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ModelParams : IVersioned<ModelParams>
    {
        public uint Size;
        public int Threads;
        public int Backend;
        public int WeightType;
        public int LockMemory;

        public static ModelParams Defaults => new() { Size = (uint)sizeof(ModelParams) };
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct GenerateParams : IVersioned<GenerateParams>
    {
        public uint Size;
        public int MaxTokens;
        public float Temperature;
        public int TopK;
        public float TopP;
        public ulong Seed;

        public static GenerateParams Defaults => new()
        {
            Size = (uint)sizeof(GenerateParams),
            MaxTokens = 32,
            Temperature = SamplingOptions.Greedy.Temperature,
            TopK = SamplingOptions.Greedy.TopK,
            TopP = SamplingOptions.Greedy.TopP,
            Seed = SamplingOptions.Greedy.Seed,
        };
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Candidate
    {
        public int InputIndex;
        public int MaskPosition;
        public int Token;
        public float Logit;
        public double Score;
        public byte* TokenStr;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ModelInfo
    {
        public uint Size;
        public byte* WeightType;
        public int VocabSize;
        public int EmbeddingLength;
        public int BlockCount;
        public int HeadCount;
        public int ContextLength;
        public int LanguageCount;
        public int MaskToken;
        public int Causal;
    }
}

/// <summary>
/// Open models by handle. A handle is a number from a counter that never repeats (not an address),
/// so a stale handle, closed or never opened, is found missing instead of reaching a newer model.
/// </summary>
internal static class Handles
{
    private static readonly Dictionary<nint, NativeModel> s_models = [];
    private static readonly Lock s_gate = new();
    private static long s_last;

    public static nint Add(NativeModel model)
    {
        lock (s_gate)
        {
            // Odd steps keep handles away from small integers and aligned-looking pointers.
            nint handle = (nint)(0x5A1_0000_0001L + 2 * s_last++);
            s_models.Add(handle, model);
            return handle;
        }
    }

    public static NativeModel Get(nint handle)
    {
        if (handle == 0)
            throw new ArgumentNullException("model");
        lock (s_gate)
            return s_models.TryGetValue(handle, out var model) ? model : throw Closed(handle);
    }

    public static NativeModel Remove(nint handle)
    {
        lock (s_gate)
            return s_models.Remove(handle, out var model) ? model : throw Closed(handle);
    }

    private static ArgumentException Closed(nint handle) =>
        new($"model handle 0x{handle:x} is closed (or was never opened)");
}

/// <summary>A model plus the UTF-8 strings handed to C (tokens, languages), freed with the model.</summary>
internal sealed unsafe class NativeModel(XlmModel model) : IDisposable
{
    private readonly Dictionary<string, byte[]> _strings = new(StringComparer.Ordinal);

    public XlmModel Model { get; } = model;

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="s"/> that lives as long as the model.</summary>
    public byte* Intern(string s)
    {
        lock (_strings)
        {
            if (!_strings.TryGetValue(s, out var bytes))
                _strings[s] = bytes = Exports.PinnedUtf8(s);
            return Exports.Address(bytes);
        }
    }

    public void Dispose()
    {
        Model.Dispose();
        lock (_strings)
            _strings.Clear();
    }
}
