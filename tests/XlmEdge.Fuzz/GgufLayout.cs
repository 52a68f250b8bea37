using System.Buffers.Binary;
using System.Text;

namespace XlmEdge.Fuzz;

/// <summary>What a numeric field of a GGUF file holds, for choosing how to lie in it.</summary>
internal enum FieldKind
{
    Header,        // magic, version
    Count,         // tensor count, metadata count, array length
    StringLength,  // the u64 before a string's bytes
    ValueType,     // a metadata value's or an array's element type
    Dimension,     // a tensor dimension or the dimension count
    TensorType,    // a tensor's ggml type
    TensorOffset,  // a tensor's data offset
    Scalar,        // a u32 metadata value (sizes, token ids) or a float
}

/// <summary>One numeric field of the file: where it is, how wide, what it means.</summary>
internal readonly record struct Field(long Offset, int Size, FieldKind Kind, string Name);

/// <summary>
/// The numeric fields of a well-formed GGUF v3 file, found by walking it as the format describes
/// (written here, independent of the runtime's reader), and where its tensor data starts.
/// </summary>
internal sealed class GgufLayout
{
    public List<Field> Fields { get; } = [];
    public long DataStart { get; private set; }
    /// <summary>The file offset of the content hash's 16 hex digits, or -1.</summary>
    public long HashDigits { get; private set; } = -1;

    private readonly byte[] _b;
    private long _at;

    private GgufLayout(byte[] bytes) => _b = bytes;

    public static GgufLayout Of(byte[] bytes)
    {
        var layout = new GgufLayout(bytes);
        layout.Walk();
        return layout;
    }

    private void Walk()
    {
        Add(4, FieldKind.Header, "magic");
        Add(4, FieldKind.Header, "version");
        ulong tensors = U64(FieldKind.Count, "tensor count");
        ulong kvs = U64(FieldKind.Count, "metadata count");
        for (ulong i = 0; i < kvs; i++)
        {
            string key = String("key");
            uint type = U32(FieldKind.ValueType, $"type of {key}");
            if (key == "xlmedge.content_hash" && type == 8)
                HashDigits = _at + 8 + "xxh3-64:".Length;
            Value(type, key);
        }
        for (ulong i = 0; i < tensors; i++)
        {
            string name = String("tensor name");
            uint dims = U32(FieldKind.Dimension, $"dimension count of {name}");
            for (uint d = 0; d < dims; d++)
                U64(FieldKind.Dimension, $"dimension {d} of {name}");
            U32(FieldKind.TensorType, $"type of {name}");
            U64(FieldKind.TensorOffset, $"offset of {name}");
        }
        const long Alignment = 64; // general.alignment of every file the weights tool writes
        DataStart = (_at + Alignment - 1) / Alignment * Alignment;
    }

    private void Value(uint type, string key)
    {
        switch (type)
        {
            case 9:
                uint element = U32(FieldKind.ValueType, $"element type of {key}");
                ulong count = U64(FieldKind.Count, $"length of {key}");
                for (ulong i = 0; i < count; i++)
                    Value(element, key);
                break;
            case 8:
                String(key);
                break;
            case 4 or 5 or 6:
                U32(FieldKind.Scalar, key);
                break;
            case 0 or 1 or 7:
                _at += 1;
                break;
            case 2 or 3:
                _at += 2;
                break;
            default:
                _at += 8;
                break;
        }
    }

    private string String(string what)
    {
        ulong n = U64(FieldKind.StringLength, $"length of {what}");
        string s = Encoding.UTF8.GetString(_b, (int)_at, (int)n);
        _at += (long)n;
        return s;
    }

    private uint U32(FieldKind kind, string name)
    {
        uint v = BinaryPrimitives.ReadUInt32LittleEndian(_b.AsSpan((int)_at));
        Add(4, kind, name);
        return v;
    }

    private ulong U64(FieldKind kind, string name)
    {
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(_b.AsSpan((int)_at));
        Add(8, kind, name);
        return v;
    }

    private void Add(int size, FieldKind kind, string name)
    {
        Fields.Add(new Field(_at, size, kind, name));
        _at += size;
    }
}
