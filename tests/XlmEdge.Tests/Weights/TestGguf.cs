using System.IO.Hashing;
using System.Text;
using XlmEdge.Weights;

namespace XlmEdge.Tests.Weights;

/// <summary>One tensor to write: name, PyTorch-order shape, GGUF type id and raw bytes.</summary>
internal sealed record TestTensor(string Name, long[] Shape, uint Type, byte[] Data);

/// <summary>
/// Writes GGUF v3 files from the format description, independent of the weights tool's writer, so
/// tests can make files the tool would never write: edited metadata, extra or odd tensors.
/// </summary>
internal static class TestGguf
{
    /// <summary>
    /// Reads <paramref name="source"/>, lets the test edit its metadata and tensors, writes the
    /// result to <paramref name="destination"/> and gives it a correct content hash (when it keeps
    /// the hash key), so only the edit can make it fail.
    /// </summary>
    public static void Rewrite(string source, string destination, Action<List<GgufMetadata>, List<TestTensor>> edit)
    {
        List<GgufMetadata> entries;
        List<TestTensor> data;
        using (var file = GgufFile.Open(source))
        {
            entries = [.. file.Metadata];
            data = [.. file.Tensors.Select(t => new TestTensor(t.Name, t.Shape, (uint)t.Type, file.GetBytes(t).ToArray()))];
        }
        edit(entries, data);
        File.WriteAllBytes(destination, Write(entries, data));
    }

    /// <summary>Replaces (or adds) one metadata entry.</summary>
    public static void Set(this List<GgufMetadata> entries, string key, GgufValueType type, object value, GgufValueType elementType = default)
    {
        var entry = new GgufMetadata(key, type, elementType, value);
        int at = entries.FindIndex(e => e.Key == key);
        if (at >= 0)
            entries[at] = entry;
        else
            entries.Add(entry);
    }

    public static T Get<T>(this List<GgufMetadata> entries, string key) => (T)entries.Single(e => e.Key == key).Value;

    public static byte[] Write(List<GgufMetadata> metadata, List<TestTensor> tensors, uint alignment = 64)
    {
        var m = new MemoryStream();
        var w = new BinaryWriter(m);
        w.Write(0x46554747u);
        w.Write(3u);
        w.Write((ulong)tensors.Count);
        w.Write((ulong)metadata.Count);
        long hashDigits = -1;
        foreach (var e in metadata)
        {
            WriteString(w, e.Key);
            w.Write((uint)e.Type);
            if (e.Key == GgufFormat.KeyContentHash && e.Value is string)
                hashDigits = m.Position + 8 + GgufContentHash.Prefix.Length;
            WriteValue(w, e.Type, e.ElementType, e.Value);
        }
        long offset = 0;
        var offsets = new List<long>();
        foreach (var t in tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Shape.Length);
            for (int i = t.Shape.Length - 1; i >= 0; i--)
                w.Write((ulong)t.Shape[i]);
            w.Write(t.Type);
            w.Write((ulong)offset);
            offsets.Add(offset);
            offset = Align(offset + t.Data.Length, alignment);
        }
        w.Flush();
        long dataStart = Align(m.Position, alignment);
        for (int i = 0; i < tensors.Count; i++)
        {
            m.SetLength(dataStart + offsets[i]);
            m.Position = dataStart + offsets[i];
            m.Write(tensors[i].Data);
        }
        m.SetLength(dataStart + offset);
        var bytes = m.ToArray();
        if (hashDigits >= 0)
            Rehash(bytes, (int)hashDigits);
        return bytes;
    }

    /// <summary>Writes the hash of <paramref name="bytes"/> (digits read as '0') at <paramref name="digits"/>.</summary>
    public static void Rehash(byte[] bytes, int digits)
    {
        "0000000000000000"u8.CopyTo(bytes.AsSpan(digits));
        Encoding.ASCII.GetBytes(XxHash3.HashToUInt64(bytes).ToString("x16")).CopyTo(bytes, digits);
    }

    private static long Align(long value, long alignment) => (value + alignment - 1) / alignment * alignment;

    private static void WriteString(BinaryWriter w, string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)b.Length);
        w.Write(b);
    }

    private static void WriteValue(BinaryWriter w, GgufValueType type, GgufValueType elementType, object value)
    {
        switch (type)
        {
            case GgufValueType.Array:
                var items = (Array)value;
                w.Write((uint)elementType);
                w.Write((ulong)items.Length);
                foreach (var item in items)
                {
                    if (elementType == GgufValueType.Array)
                        throw new NotSupportedException("nested arrays");
                    WriteValue(w, elementType, default, item!);
                }
                break;
            case GgufValueType.String: WriteString(w, (string)value); break;
            case GgufValueType.Bool: w.Write((byte)((bool)value ? 1 : 0)); break;
            case GgufValueType.UInt8: w.Write((byte)value); break;
            case GgufValueType.Int8: w.Write((sbyte)value); break;
            case GgufValueType.UInt16: w.Write((ushort)value); break;
            case GgufValueType.Int16: w.Write((short)value); break;
            case GgufValueType.UInt32: w.Write((uint)value); break;
            case GgufValueType.Int32: w.Write((int)value); break;
            case GgufValueType.Float32: w.Write((float)value); break;
            case GgufValueType.UInt64: w.Write((ulong)value); break;
            case GgufValueType.Int64: w.Write((long)value); break;
            case GgufValueType.Float64: w.Write((double)value); break;
            default: throw new NotSupportedException(type.ToString());
        }
    }
}
