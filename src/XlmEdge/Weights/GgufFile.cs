using System.IO.MemoryMappedFiles;
using System.Text;

namespace XlmEdge.Weights;

/// <summary>One metadata entry of a GGUF file. <see cref="ElementType"/> is meaningful for arrays only.</summary>
/// <remarks>Value is a string, bool, a number of the exact stored type, or a typed array (string[], uint[], float[], object[] for nested arrays, ...).</remarks>
internal readonly record struct GgufMetadata(string Key, GgufValueType Type, GgufValueType ElementType, object Value);

/// <summary>Where a tensor lives in the file.</summary>
/// <remarks>Shape is in PyTorch order, outermost first (the file stores the reverse, ggml's ne[0] first); DataOffset is the absolute file offset of the first byte.</remarks>
internal sealed record GgufTensorInfo(string Name, long[] Shape, GgufTensorType Type, long DataOffset, long ByteLength)
{
    public long ElementCount => ByteLength / GgufFile.ElementSize(Type);
}

/// <summary>
/// A GGUF v3 file mapped read-only. Opening parses the header, metadata and tensor table only
/// (O(metadata)); tensor views point straight into the mapping and stay valid until Dispose.
/// Every offset, size, count and string length is checked against the file before it is used or
/// allocated, so a truncated or hostile file ends in a <see cref="ModelFileException"/>.
/// </summary>
internal sealed unsafe class GgufFile : IDisposable
{
    /// <summary>GGUF tensors have at most 4 dimensions (ggml's GGML_MAX_DIMS).</summary>
    private const int MaxDimensions = 4;
    private const int MaxArrayNesting = 4;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly Dictionary<string, GgufMetadata> _metadataByKey;
    private readonly Dictionary<string, GgufTensorInfo> _tensorsByName;
    private readonly long _hashDigitsOffset = -1;
    private byte* _base;

    public string Path { get; }
    public uint Version { get; }
    public long FileLength { get; }
    public long DataStart { get; }
    public IReadOnlyList<GgufMetadata> Metadata { get; }
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>The stored content hash ("xxh3-64:..."), or null when the file has none.</summary>
    public string? ContentHash { get; }

    private GgufFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePtr, long length)
    {
        Path = path;
        _map = map;
        _view = view;
        _base = basePtr;
        FileLength = length;

        var reader = new Reader(basePtr, length);
        uint magic = reader.U32("magic");
        if (magic != GgufFormat.Magic)
            throw Error($"not a GGUF file (magic 0x{magic:x8}, expected 0x{GgufFormat.Magic:x8} \"GGUF\")");
        Version = reader.U32("version");
        if (Version != GgufFormat.Version)
            throw Error($"unsupported GGUF version {Version} (this reader supports version {GgufFormat.Version})");
        ulong tensorCount = reader.U64("tensor count");
        ulong kvCount = reader.U64("metadata count");
        // The smallest possible entries bound the counts by the bytes left, before any allocation.
        const int MinKvBytes = 8 + 4 + 1;
        const int MinTensorBytes = 8 + 4 + 4 + 8;
        if (kvCount > (ulong)(reader.Remaining / MinKvBytes))
            throw Error($"metadata count {kvCount} is impossible for a file of {length} bytes");
        if (tensorCount > (ulong)(reader.Remaining / MinTensorBytes))
            throw Error($"tensor count {tensorCount} is impossible for a file of {length} bytes");

        var metadata = new List<GgufMetadata>((int)kvCount);
        _metadataByKey = new Dictionary<string, GgufMetadata>((int)kvCount, StringComparer.Ordinal);
        for (ulong i = 0; i < kvCount; i++)
        {
            string key = reader.String("metadata key");
            var type = (GgufValueType)reader.U32($"type of '{key}'");
            long valueStart = reader.Position;
            var entry = ReadValue(ref reader, key, type, depth: 0);
            if (!_metadataByKey.TryAdd(key, entry))
                throw Error($"metadata key '{key}' appears twice");
            metadata.Add(entry);
            if (key == GgufFormat.KeyContentHash && entry.Value is string hash && GgufContentHash.IsWellFormed(hash))
            {
                ContentHash = hash;
                // The value is a u64 length then the bytes; the digits follow the prefix.
                _hashDigitsOffset = valueStart + 8 + GgufContentHash.Prefix.Length;
            }
        }
        Metadata = metadata;

        long alignment = 32;
        if (_metadataByKey.TryGetValue(GgufFormat.KeyAlignment, out var alignEntry))
        {
            if (alignEntry.Value is not uint a || a == 0 || (a & (a - 1)) != 0 || a > 1 << 16)
                throw Error($"'{GgufFormat.KeyAlignment}' must be a uint32 power of two up to 65536");
            alignment = a;
        }

        var tensors = new List<GgufTensorInfo>((int)tensorCount);
        var rawOffsets = new List<(string Name, long[] Shape, GgufTensorType Type, ulong Offset, long Bytes)>((int)tensorCount);
        for (ulong i = 0; i < tensorCount; i++)
        {
            string name = reader.String("tensor name");
            uint dims = reader.U32($"dimension count of tensor '{name}'");
            if (dims == 0 || dims > MaxDimensions)
                throw Error($"tensor '{name}' has {dims} dimensions (1 to {MaxDimensions} supported)");
            var shape = new long[dims];
            long elements = 1;
            for (int d = 0; d < dims; d++)
            {
                ulong n = reader.U64($"dimension of tensor '{name}'");
                if (n == 0 || n > (ulong)(length))
                    throw Error($"tensor '{name}' has an impossible dimension {n}");
                shape[dims - 1 - d] = (long)n;
                elements = checked(elements * (long)n);
                if (elements > length)
                    throw Error($"tensor '{name}' has more elements than the file has bytes");
            }
            uint typeId = reader.U32($"type of tensor '{name}'");
            if (typeId is not ((uint)GgufTensorType.F32 or (uint)GgufTensorType.F16 or (uint)GgufTensorType.I8))
                throw Error($"tensor '{name}' has ggml type {typeId}; XlmEdge reads F32 (0), F16 (1) and I8 (24) only");
            var type = (GgufTensorType)typeId;
            ulong offset = reader.U64($"offset of tensor '{name}'");
            rawOffsets.Add((name, shape, type, offset, elements * ElementSize(type)));
        }

        DataStart = AlignUp(reader.Position, alignment);
        if (DataStart > length)
            throw Error($"file ends at byte {length}, before the tensor data (which would start at {DataStart})");

        _tensorsByName = new Dictionary<string, GgufTensorInfo>(rawOffsets.Count, StringComparer.Ordinal);
        foreach (var (name, shape, type, offset, bytes) in rawOffsets)
        {
            if (offset % (ulong)alignment != 0)
                throw Error($"tensor '{name}' offset {offset} is not a multiple of the alignment {alignment}");
            if (offset > (ulong)(length - DataStart) || (ulong)bytes > (ulong)(length - DataStart) - offset)
                throw Error($"tensor '{name}' data ({bytes} bytes at data offset {offset}) runs past the end of the file ({length} bytes)");
            var info = new GgufTensorInfo(name, shape, type, DataStart + (long)offset, bytes);
            if (!_tensorsByName.TryAdd(name, info))
                throw Error($"tensor '{name}' appears twice");
            tensors.Add(info);
        }
        CheckNoOverlap(tensors);
        Tensors = tensors;
    }

    /// <summary>Maps <paramref name="path"/> read-only and parses its header, metadata and tensor table.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelFileException">The file is not a well-formed GGUF v3 file.</exception>
    public static GgufFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"model file not found: {path}", path);
        return Map(path, () => MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, 0, MemoryMappedFileAccess.Read));
    }

    /// <summary>
    /// Maps an open file read-only, the stream left open: the weights tool checks the file it is
    /// writing through the handle it holds locked.
    /// </summary>
    public static GgufFile Open(FileStream stream, string path) =>
        Map(path, () => MemoryMappedFile.CreateFromFile(stream, mapName: null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true));

    private static GgufFile Map(string path, Func<MemoryMappedFile> createMap)
    {
        long length = new FileInfo(path).Length;
        if (length < 4 + 4 + 8 + 8)
            throw new ModelFileException($"{path}: file is too short to be GGUF ({length} bytes)");

        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        byte* basePtr = null;
        try
        {
            map = createMap();
            view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
            basePtr += view.PointerOffset;
            return new GgufFile(path, map, view, basePtr, length);
        }
        catch (Exception e) when (e is ModelFileException or IOException or UnauthorizedAccessException)
        {
            if (basePtr != null)
                view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map?.Dispose();
            if (e is ModelFileException mfe)
                throw new ModelFileException($"{path}: {mfe.Message}", mfe);
            throw;
        }
    }

    public bool TryGetMetadata(string key, out GgufMetadata entry) => _metadataByKey.TryGetValue(key, out entry);

    public bool TryGetTensor(string name, out GgufTensorInfo tensor) => _tensorsByName.TryGetValue(name, out tensor!);

    public string GetString(string key) => Get<string>(key, GgufValueType.String);
    public uint GetUInt32(string key) => Get<uint>(key, GgufValueType.UInt32);
    public bool GetBool(string key) => Get<bool>(key, GgufValueType.Bool);
    public float GetFloat32(string key) => Get<float>(key, GgufValueType.Float32);

    public string[] GetStringArray(string key)
    {
        var entry = Require(key);
        if (entry.Type != GgufValueType.Array || entry.ElementType != GgufValueType.String)
            throw TypeError(entry, "array of string");
        return (string[])entry.Value;
    }

    public int[] GetInt32Array(string key)
    {
        var entry = Require(key);
        if (entry.Type != GgufValueType.Array || entry.ElementType != GgufValueType.Int32)
            throw TypeError(entry, "array of int32");
        return (int[])entry.Value;
    }

    /// <summary>A view of an F16 tensor, valid until this file is disposed.</summary>
    public ReadOnlySpan<Half> GetHalf(string name)
    {
        var t = RequireTensor(name, GgufTensorType.F16);
        return new ReadOnlySpan<Half>(Pointer(t), checked((int)t.ElementCount));
    }

    /// <summary>A view of an F32 tensor, valid until this file is disposed.</summary>
    public ReadOnlySpan<float> GetFloat32(GgufTensorInfo tensor)
    {
        if (tensor.Type != GgufTensorType.F32)
            throw new ModelFileException($"tensor '{tensor.Name}' has type {tensor.Type}, expected F32");
        return new ReadOnlySpan<float>(Pointer(tensor), checked((int)tensor.ElementCount));
    }

    /// <summary>A view of an F32 tensor by name, valid until this file is disposed.</summary>
    public ReadOnlySpan<float> GetFloat32Tensor(string name) => GetFloat32(RequireTensor(name, GgufTensorType.F32));

    /// <summary>The raw bytes of a tensor, valid until this file is disposed.</summary>
    public ReadOnlySpan<byte> GetBytes(GgufTensorInfo tensor)
    {
        if (!_tensorsByName.TryGetValue(tensor.Name, out var own) || !ReferenceEquals(own, tensor))
            throw new ArgumentException($"tensor '{tensor.Name}' does not belong to this file", nameof(tensor));
        return new ReadOnlySpan<byte>(Pointer(tensor), checked((int)tensor.ByteLength));
    }

    /// <summary>Pointer to a tensor's first byte; the model keeps the file open for as long as it uses it.</summary>
    public byte* Pointer(GgufTensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        return _base + tensor.DataOffset;
    }

    /// <summary>True when the file carries a content hash and it matches the file's bytes.</summary>
    public bool VerifyContentHash(out string? actual)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        actual = null;
        if (_hashDigitsOffset < 0)
            return false;
        actual = GgufContentHash.Format(GgufContentHash.Compute(_base, FileLength, _hashDigitsOffset));
        return string.Equals(actual, ContentHash, StringComparison.Ordinal);
    }

    /// <summary>Locks the whole mapping in RAM (<see cref="MemoryLock"/>); closing the file unlocks it.</summary>
    public void LockInMemory()
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        MemoryLock.Lock(_base, FileLength, Path);
    }

    public void Dispose()
    {
        if (_base == null)
            return;
        _base = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    internal static int ElementSize(GgufTensorType type) => type switch
    {
        GgufTensorType.F32 => 4,
        GgufTensorType.F16 => 2,
        GgufTensorType.I8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private GgufTensorInfo RequireTensor(string name, GgufTensorType type)
    {
        if (!_tensorsByName.TryGetValue(name, out var t))
            throw new ModelFileException($"tensor '{name}' is missing");
        if (t.Type != type)
            throw new ModelFileException($"tensor '{name}' has type {t.Type}, expected {type}");
        return t;
    }

    private GgufMetadata Require(string key) =>
        _metadataByKey.TryGetValue(key, out var e) ? e : throw new ModelFileException($"metadata key '{key}' is missing");

    private T Get<T>(string key, GgufValueType type)
    {
        var entry = Require(key);
        if (entry.Type != type)
            throw TypeError(entry, type.ToString());
        return (T)entry.Value;
    }

    private static ModelFileException TypeError(GgufMetadata e, string expected) =>
        new($"metadata key '{e.Key}' has type {Describe(e)}, expected {expected}");

    private static string Describe(GgufMetadata e) =>
        e.Type == GgufValueType.Array ? $"array of {e.ElementType}" : e.Type.ToString();

    private static ModelFileException Error(string message) => new(message);

    private static long AlignUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;

    private static void CheckNoOverlap(List<GgufTensorInfo> tensors)
    {
        var sorted = tensors.ToArray();
        Array.Sort(sorted, (a, b) => a.DataOffset.CompareTo(b.DataOffset));
        for (int i = 1; i < sorted.Length; i++)
        {
            if (sorted[i - 1].DataOffset + sorted[i - 1].ByteLength > sorted[i].DataOffset)
                throw Error($"tensors '{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap");
        }
    }

    private static GgufMetadata ReadValue(ref Reader reader, string key, GgufValueType type, int depth)
    {
        switch (type)
        {
            case GgufValueType.Array:
                var elementType = (GgufValueType)reader.U32($"array type of '{key}'");
                ulong count = reader.U64($"array length of '{key}'");
                long minSize = MinValueSize(elementType, key);
                if (count > (ulong)(reader.Remaining / minSize))
                    throw Error($"metadata '{key}' claims {count} elements, more than the file can hold");
                if (elementType == GgufValueType.Array && depth + 1 >= MaxArrayNesting)
                    throw Error($"metadata '{key}' nests arrays deeper than {MaxArrayNesting}");
                return new GgufMetadata(key, type, elementType, ReadArray(ref reader, key, elementType, (int)count, depth));
            default:
                return new GgufMetadata(key, type, default, ReadScalar(ref reader, key, type));
        }
    }

    private static object ReadScalar(ref Reader r, string key, GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => r.Bytes(1, key)[0],
        GgufValueType.Int8 => (sbyte)r.Bytes(1, key)[0],
        GgufValueType.UInt16 => (ushort)r.Fixed(2, key),
        GgufValueType.Int16 => (short)(ushort)r.Fixed(2, key),
        GgufValueType.UInt32 => (uint)r.Fixed(4, key),
        GgufValueType.Int32 => (int)(uint)r.Fixed(4, key),
        GgufValueType.Float32 => BitConverter.UInt32BitsToSingle((uint)r.Fixed(4, key)),
        GgufValueType.Bool => r.Bool(key),
        GgufValueType.String => r.String(key),
        GgufValueType.UInt64 => r.Fixed(8, key),
        GgufValueType.Int64 => (long)r.Fixed(8, key),
        GgufValueType.Float64 => BitConverter.UInt64BitsToDouble(r.Fixed(8, key)),
        _ => throw Error($"metadata '{key}' has unknown value type {(uint)type}"),
    };

    private static object ReadArray(ref Reader r, string key, GgufValueType elementType, int count, int depth)
    {
        switch (elementType)
        {
            case GgufValueType.String:
            {
                var a = new string[count];
                for (int i = 0; i < count; i++) a[i] = r.String(key);
                return a;
            }
            case GgufValueType.UInt32:
            {
                var a = new uint[count];
                for (int i = 0; i < count; i++) a[i] = (uint)r.Fixed(4, key);
                return a;
            }
            case GgufValueType.Int32:
            {
                var a = new int[count];
                for (int i = 0; i < count; i++) a[i] = (int)(uint)r.Fixed(4, key);
                return a;
            }
            case GgufValueType.Float32:
            {
                var a = new float[count];
                for (int i = 0; i < count; i++) a[i] = BitConverter.UInt32BitsToSingle((uint)r.Fixed(4, key));
                return a;
            }
            case GgufValueType.Array:
            {
                var a = new object[count];
                for (int i = 0; i < count; i++)
                    a[i] = ReadValue(ref r, key, GgufValueType.Array, depth + 1).Value;
                return a;
            }
            default:
            {
                var a = new object[count];
                for (int i = 0; i < count; i++) a[i] = ReadScalar(ref r, key, elementType);
                return a;
            }
        }
    }

    private static long MinValueSize(GgufValueType type, string key) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 or GgufValueType.String => 8,
        GgufValueType.Array => 4 + 8,
        _ => throw Error($"metadata '{key}' has unknown array element type {(uint)type}"),
    };

    /// <summary>A cursor over the mapping that refuses to read past its end.</summary>
    private struct Reader(byte* data, long length)
    {
        public long Position { get; private set; }
        public readonly long Remaining => length - Position;

        /// <summary>
        /// The next <paramref name="count"/> bytes. <paramref name="prefix"/> + <paramref name="what"/> names them
        /// in the error, and the two are joined only then: enfr-1024's vocabulary has 64,139 string lengths, and
        /// building "length of tokenizer.ggml.tokens" for each made 5.4 MB of garbage strings at every load.
        /// Without them the Native AOT console's fill-mask from process start took a median 218 ms instead of
        /// 232 ms (12 runs of each build alternating, AMD EPYC Zen 5, 2026-12-01).
        /// </summary>
        public ReadOnlySpan<byte> Bytes(long count, string what, string prefix = "")
        {
            if (count < 0 || count > Remaining)
                throw Error($"file ends at byte {length} while reading {prefix}{what} ({count} bytes needed at offset {Position})");
            var span = new ReadOnlySpan<byte>(data + Position, (int)count);
            Position += count;
            return span;
        }

        public ulong Fixed(int size, string what, string prefix = "")
        {
            var b = Bytes(size, what, prefix);
            return size switch
            {
                2 => System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(b),
                4 => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b),
                _ => System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(b),
            };
        }

        public uint U32(string what) => (uint)Fixed(4, what);
        public ulong U64(string what) => Fixed(8, what);

        public bool Bool(string what)
        {
            byte b = Bytes(1, what)[0];
            return b switch
            {
                0 => false,
                1 => true,
                _ => throw Error($"{what}: boolean byte {b} is neither 0 nor 1"),
            };
        }

        public string String(string what)
        {
            ulong n = Fixed(8, what, "length of ");
            if (n > (ulong)Remaining || n > int.MaxValue)
                throw Error($"{what}: string length {n} runs past the end of the file");
            var bytes = Bytes((long)n, what);
            try
            {
                return StrictUtf8.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw Error($"{what}: string is not valid UTF-8 (at offset {Position - (long)n})");
            }
        }
    }
}
