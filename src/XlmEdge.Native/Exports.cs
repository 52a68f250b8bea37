using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using XlmEdge.Model;

namespace XlmEdge.Native;

/// <summary>
/// The C ABI of include/xlmedge.h. Every entry point catches everything: a .NET exception must
/// never unwind into C, so each failure becomes a status code plus a thread-local message.
/// </summary>
internal static unsafe class Exports
{
    private const int Ok = 0, ErrorArgument = 1, ErrorModelFile = 2, ErrorInput = 3, ErrorBufferTooSmall = 4, ErrorInternal = 5;

    private const string VersionText = "0.1.0";

    private static readonly byte* Version = Utf8(VersionText);

    private static readonly byte* Info = Utf8(InfoJson());

    [ThreadStatic] private static byte* _lastError;

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_version", CallConvs = [typeof(CallConvCdecl)])]
    private static byte* GetVersion() => Version;

    /// <summary>{"version":"0.1.0","simd":"avx2+fma"}: what this build runs here (made once, kept for the process).</summary>
    [UnmanagedCallersOnly(EntryPoint = "xlmedge_info", CallConvs = [typeof(CallConvCdecl)])]
    private static byte* GetInfo() => Info;

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_last_error", CallConvs = [typeof(CallConvCdecl)])]
    private static byte* LastError()
    {
        if (_lastError == null)
            _lastError = Utf8("");
        return _lastError;
    }

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_open", CallConvs = [typeof(CallConvCdecl)])]
    private static int Open(byte* path, int threads, IntPtr* outModel)
    {
        return Guard(() =>
        {
            if (outModel == null)
                throw new ArgumentNullException("out_model");
            *outModel = IntPtr.Zero;
            var options = threads > 0 ? new XlmModelOptions { Threads = threads } : new XlmModelOptions();
            var model = new NativeModel(XlmModel.Load(String(path, "path"), options));
            *outModel = GCHandle.ToIntPtr(GCHandle.Alloc(model));
        });
    }

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_close", CallConvs = [typeof(CallConvCdecl)])]
    private static void Close(IntPtr model)
    {
        if (model == IntPtr.Zero)
            return;
        try
        {
            var handle = GCHandle.FromIntPtr(model);
            ((NativeModel)handle.Target!).Dispose();
            handle.Free();
        }
        catch (Exception e)
        {
            SetError(e.Message);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_fill_mask", CallConvs = [typeof(CallConvCdecl)])]
    private static int FillMask(IntPtr model, byte* text, byte* lang, int topK, Candidate* output, int capacity, int* outCount)
    {
        return Guard(() =>
        {
            if (outCount == null)
                throw new ArgumentNullException("out_count");
            var m = Model(model);
            var result = m.Model.FillMask(String(text, "text"), String(lang, "lang"), topK);
            int needed = result.Masks.Count * topK;
            *outCount = needed;
            if (needed > capacity || output == null)
                throw new BufferTooSmallException($"{needed} candidates do not fit in a buffer of {capacity}");
            int i = 0;
            foreach (var mask in result.Masks)
            {
                foreach (var c in mask.Candidates)
                {
                    output[i++] = new Candidate
                    {
                        MaskPosition = mask.Position,
                        Id = c.Id,
                        Token = m.Token(c.Id),
                        Probability = c.Probability,
                        Logit = c.Logit,
                    };
                }
            }
        });
    }

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_fill_mask_json", CallConvs = [typeof(CallConvCdecl)])]
    private static int FillMaskJsonExport(IntPtr model, byte* text, byte* lang, int topK, byte** outJson)
    {
        return Guard(() =>
        {
            if (outJson == null)
                throw new ArgumentNullException("out_json");
            *outJson = null;
            var result = Model(model).Model.FillMask(String(text, "text"), String(lang, "lang"), topK);
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                FillMaskJson.Write(writer, result);
            var json = (byte*)NativeMemory.Alloc((nuint)buffer.WrittenCount + 1);
            buffer.WrittenSpan.CopyTo(new Span<byte>(json, buffer.WrittenCount));
            json[buffer.WrittenCount] = 0;
            *outJson = json;
        });
    }

    [UnmanagedCallersOnly(EntryPoint = "xlmedge_free", CallConvs = [typeof(CallConvCdecl)])]
    private static void Free(void* p) => NativeMemory.Free(p);

    private static NativeModel Model(IntPtr model)
    {
        if (model == IntPtr.Zero)
            throw new ArgumentNullException("model");
        return (NativeModel)GCHandle.FromIntPtr(model).Target!;
    }

    private static string String(byte* utf8, string name)
    {
        if (utf8 == null)
            throw new ArgumentNullException(name);
        return Marshal.PtrToStringUTF8((IntPtr)utf8)!;
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
            SetError(e.Message);
            return e switch
            {
                BufferTooSmallException => ErrorBufferTooSmall,
                ModelFileException or FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException => ErrorModelFile,
                InvalidInputException => ErrorInput,
                ArgumentException or ObjectDisposedException => ErrorArgument,
                _ => ErrorInternal,
            };
        }
    }

    private static void SetError(string message)
    {
        if (_lastError != null)
            NativeMemory.Free(_lastError);
        _lastError = Utf8(message.ReplaceLineEndings(" "));
    }

    internal static byte* Utf8(string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        var p = (byte*)NativeMemory.Alloc((nuint)n + 1);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
        p[n] = 0;
        return p;
    }

    private static string InfoJson()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("version", VersionText);
            writer.WriteString("simd", XlmRuntime.SimdPath);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private sealed class BufferTooSmallException(string message) : Exception(message);

    [StructLayout(LayoutKind.Sequential)]
    private struct Candidate
    {
        public int MaskPosition;
        public int Id;
        public byte* Token;
        public double Probability;
        public float Logit;
    }
}

/// <summary>A model plus the UTF-8 copies of token strings handed to C, freed with the model.</summary>
internal sealed unsafe class NativeModel(XlmModel model) : IDisposable
{
    private readonly Dictionary<int, IntPtr> _tokens = [];

    public XlmModel Model { get; } = model;

    public byte* Token(int id)
    {
        lock (_tokens)
        {
            if (!_tokens.TryGetValue(id, out var p))
                _tokens[id] = p = (IntPtr)Exports.Utf8(Model.Tokenizer.TokenOf(id));
            return (byte*)p;
        }
    }

    public void Dispose()
    {
        Model.Dispose();
        lock (_tokens)
        {
            foreach (var p in _tokens.Values)
                NativeMemory.Free((void*)p);
            _tokens.Clear();
        }
    }
}
