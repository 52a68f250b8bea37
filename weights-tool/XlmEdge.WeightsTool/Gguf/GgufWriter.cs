using System.Text;
using XlmEdge.Weights;

namespace XlmEdge.WeightsTool.Gguf;

/// <summary>One tensor as the GGUF header describes it; Offset is relative to the data section.</summary>
internal sealed record GgufTensorEntry(string Name, long[] Shape, GgufTensorType Type, long Offset, long ByteLength);

/// <summary>
/// Builds a GGUF v3 header (little-endian, tensor data aligned to <see cref="GgufFormat.Alignment"/>):
/// magic, version, tensor count, metadata count, the metadata, the tensor infos (dims in ggml
/// order: innermost first, i.e. PyTorch's shape reversed), padding. Tensor data is written by
/// the caller at <see cref="DataStart"/> + each entry's Offset.
/// </summary>
internal sealed class GgufWriter
{
    private readonly List<(string Key, Action<BinaryWriter> WriteValue)> _metadata = [];
    private readonly List<GgufTensorEntry> _tensors = [];
    private long _nextOffset;

    public IReadOnlyList<GgufTensorEntry> Tensors => _tensors;

    /// <summary>Start of the tensor data section; known after <see cref="WriteHeader"/>.</summary>
    public long DataStart { get; private set; }

    /// <summary>File length once every tensor has been written and padded.</summary>
    public long FileLength => DataStart + _nextOffset;

    public void AddString(string key, string value) => Add(key, w => { w.Write((uint)GgufValueType.String); WriteString(w, value); });
    public void AddUInt32(string key, uint value) => Add(key, w => { w.Write((uint)GgufValueType.UInt32); w.Write(value); });
    public void AddFloat32(string key, float value) => Add(key, w => { w.Write((uint)GgufValueType.Float32); w.Write(value); });
    public void AddBool(string key, bool value) => Add(key, w => { w.Write((uint)GgufValueType.Bool); w.Write((byte)(value ? 1 : 0)); });

    public void AddInt32Array(string key, IReadOnlyList<int> values) => Add(key, w =>
    {
        w.Write((uint)GgufValueType.Array);
        w.Write((uint)GgufValueType.Int32);
        w.Write((ulong)values.Count);
        foreach (int v in values)
            w.Write(v);
    });

    public void AddStringArray(string key, IReadOnlyList<string> values) => Add(key, w =>
    {
        w.Write((uint)GgufValueType.Array);
        w.Write((uint)GgufValueType.String);
        w.Write((ulong)values.Count);
        foreach (var s in values)
            WriteString(w, s);
    });

    public GgufTensorEntry AddTensor(string name, long[] shape, GgufTensorType type)
    {
        if (shape.Length is 0 or > 4)
            throw new ArgumentException($"tensor '{name}' has {shape.Length} dimensions; GGUF allows 1 to 4", nameof(shape));
        long elements = 1;
        foreach (long d in shape)
            elements = checked(elements * d);
        long bytes = checked(elements * (type == GgufTensorType.F16 ? 2 : 4));
        var entry = new GgufTensorEntry(name, shape, type, _nextOffset, bytes);
        _tensors.Add(entry);
        _nextOffset = Align(checked(_nextOffset + bytes));
        return entry;
    }

    /// <summary>
    /// Writes everything before the tensor data (padded to the alignment) and returns the file
    /// offset of the content-hash digits, or -1 when no content-hash key was added.
    /// </summary>
    public long WriteHeader(Stream stream)
    {
        long start = stream.Position;
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(GgufFormat.Magic);
        w.Write(GgufFormat.Version);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        long digitsOffset = -1;
        foreach (var (key, writeValue) in _metadata)
        {
            WriteString(w, key);
            long valueStart = stream.Position;
            writeValue(w);
            if (key == GgufFormat.KeyContentHash)
                digitsOffset = valueStart + 4 + 8 + GgufContentHash.Prefix.Length;
        }
        foreach (var t in _tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Shape.Length);
            for (int i = t.Shape.Length - 1; i >= 0; i--)
                w.Write((ulong)t.Shape[i]);
            w.Write((uint)t.Type);
            w.Write((ulong)t.Offset);
        }
        w.Flush();
        DataStart = Align(stream.Position - start) + start;
        WritePadding(stream, DataStart);
        return digitsOffset;
    }

    /// <summary>Zero-fills from the stream's position up to <paramref name="position"/>.</summary>
    public static void WritePadding(Stream stream, long position)
    {
        long gap = position - stream.Position;
        if (gap is < 0 or >= GgufFormat.Alignment)
            throw new InvalidOperationException($"padding of {gap} bytes requested");
        Span<byte> zeros = stackalloc byte[GgufFormat.Alignment];
        zeros.Clear();
        stream.Write(zeros[..(int)gap]);
    }

    public static long Align(long offset) => (offset + GgufFormat.Alignment - 1) / GgufFormat.Alignment * GgufFormat.Alignment;

    private void Add(string key, Action<BinaryWriter> writeValue)
    {
        if (_metadata.Exists(m => m.Key == key))
            throw new InvalidOperationException($"metadata key {key} added twice");
        _metadata.Add((key, writeValue));
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }
}
