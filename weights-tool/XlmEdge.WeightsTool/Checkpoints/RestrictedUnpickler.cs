using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>
/// A pickle reader that understands exactly what torch.save writes for a state dict and nothing
/// more. It never imports, constructs or calls anything: the only globals it accepts are
/// collections.OrderedDict, torch's tensor-rebuild functions and torch's storage classes, and
/// they become plain data (<see cref="PickleDict"/>, <see cref="TorchTensorRef"/>,
/// <see cref="TorchStorageType"/>). Any other global (os.system, builtins.eval, ...) is an error
/// that names it, as is any opcode outside protocols 2-4's data opcodes.
/// </summary>
/// <remarks>
/// Razorvine.Pickle was considered and rejected: unknown globals silently become ClassDict
/// objects instead of failing, its constructor table is a process-wide static with no
/// per-instance allow-list hook, and its built-in constructors accept many non-torch globals.
/// </remarks>
internal static class RestrictedUnpickler
{
    private const int MaxLineLength = 256;
    private static readonly object Mark = new();

    private static readonly Dictionary<string, SourceDType> StorageTypes = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = SourceDType.F32,
        ["HalfStorage"] = SourceDType.F16,
        ["BFloat16Storage"] = SourceDType.BF16,
        ["DoubleStorage"] = SourceDType.F64,
        ["LongStorage"] = SourceDType.I64,
        ["IntStorage"] = SourceDType.I32,
        ["ShortStorage"] = SourceDType.I16,
        ["CharStorage"] = SourceDType.I8,
        ["ByteStorage"] = SourceDType.U8,
        ["BoolStorage"] = SourceDType.Bool,
    };

    /// <summary>
    /// Runs one pickle from the start of <paramref name="data"/> to its STOP opcode.
    /// <paramref name="persistentLoad"/> turns a persistent id into a value (a torch storage).
    /// </summary>
    public static object? Load(ReadOnlySpan<byte> data, Func<object?, object?> persistentLoad, string source, out int consumed)
    {
        var stack = new List<object?>();
        var marks = new Stack<int>();
        var memo = new Dictionary<long, object?>();
        int pos = 0;

        while (true)
        {
            if (pos >= data.Length)
                throw Error(source, "pickle ends without a STOP opcode", pos);
            int opAt = pos;
            byte op = data[pos++];
            switch (op)
            {
                case 0x80: // PROTO
                    {
                        byte proto = Take(data, ref pos, 1, source)[0];
                        if (proto is < 2 or > 5)
                            throw Error(source, $"unsupported pickle protocol {proto}", opAt);
                        break;
                    }
                case 0x95: // FRAME: a length hint, the opcodes follow inline
                    Take(data, ref pos, 8, source);
                    break;
                case (byte)'.': // STOP
                    if (stack.Count != 1 || marks.Count != 0)
                        throw Error(source, "pickle stops with an unbalanced stack", opAt);
                    consumed = pos;
                    return stack[0];
                case (byte)'(': marks.Push(stack.Count); break;
                case (byte)'0': Pop(stack, marks, source, opAt); break;
                case (byte)'1': PopToMark(stack, marks, source, opAt); break;
                case (byte)'2': stack.Add(Peek(stack, marks, source, opAt)); break;
                case (byte)'N': stack.Add(null); break;
                case 0x88: stack.Add(true); break;
                case 0x89: stack.Add(false); break;
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(data, ref pos, 4, source))); break;
                case (byte)'K': stack.Add((long)Take(data, ref pos, 1, source)[0]); break;
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(data, ref pos, 2, source))); break;
                case 0x8a: // LONG1
                    stack.Add(LittleEndianInteger(Take(data, ref pos, Take(data, ref pos, 1, source)[0], source)));
                    break;
                case 0x8b: // LONG4
                    {
                        int n = BinaryPrimitives.ReadInt32LittleEndian(Take(data, ref pos, 4, source));
                        if (n is < 0 or > 64)
                            throw Error(source, $"integer of {n} bytes", opAt);
                        stack.Add(LittleEndianInteger(Take(data, ref pos, n, source)));
                        break;
                    }
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(data, ref pos, 8, source))); break;
                case (byte)'X': stack.Add(Utf8(Take(data, ref pos, Length32(data, ref pos, source, opAt), source), source, opAt)); break;
                case 0x8c: stack.Add(Utf8(Take(data, ref pos, Take(data, ref pos, 1, source)[0], source), source, opAt)); break;
                case (byte)'T': stack.Add(Utf8(Take(data, ref pos, Length32(data, ref pos, source, opAt), source), source, opAt)); break;
                case (byte)'U': stack.Add(Utf8(Take(data, ref pos, Take(data, ref pos, 1, source)[0], source), source, opAt)); break;
                case (byte)'B': stack.Add(Take(data, ref pos, Length32(data, ref pos, source, opAt), source).ToArray()); break;
                case (byte)'C': stack.Add(Take(data, ref pos, Take(data, ref pos, 1, source)[0], source).ToArray()); break;
                case (byte)')': stack.Add(Array.Empty<object?>()); break;
                case 0x85: stack.Add(PopTuple(stack, marks, 1, source, opAt)); break;
                case 0x86: stack.Add(PopTuple(stack, marks, 2, source, opAt)); break;
                case 0x87: stack.Add(PopTuple(stack, marks, 3, source, opAt)); break;
                case (byte)'t': stack.Add(PopToMark(stack, marks, source, opAt).ToArray()); break;
                case (byte)']': stack.Add(new List<object?>()); break;
                case (byte)'l': stack.Add(PopToMark(stack, marks, source, opAt)); break;
                case (byte)'a':
                    {
                        var item = Pop(stack, marks, source, opAt);
                        AsList(Peek(stack, marks, source, opAt), source, opAt).Add(item);
                        break;
                    }
                case (byte)'e':
                    {
                        var items = PopToMark(stack, marks, source, opAt);
                        AsList(Peek(stack, marks, source, opAt), source, opAt).AddRange(items);
                        break;
                    }
                case (byte)'}': stack.Add(new PickleDict()); break;
                case (byte)'d':
                    {
                        var items = PopToMark(stack, marks, source, opAt);
                        stack.Add(SetItems(new PickleDict(), items, source, opAt));
                        break;
                    }
                case (byte)'s':
                    {
                        var value = Pop(stack, marks, source, opAt);
                        var key = Pop(stack, marks, source, opAt);
                        AsDict(Peek(stack, marks, source, opAt), source, opAt).Set(key, value);
                        break;
                    }
                case (byte)'u':
                    {
                        var items = PopToMark(stack, marks, source, opAt);
                        SetItems(AsDict(Peek(stack, marks, source, opAt), source, opAt), items, source, opAt);
                        break;
                    }
                case (byte)'c': // GLOBAL "module\nname\n"
                    {
                        string module = ReadLine(data, ref pos, source, opAt);
                        string name = ReadLine(data, ref pos, source, opAt);
                        stack.Add(ResolveGlobal(module, name, source));
                        break;
                    }
                case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop(stack, marks, source, opAt);
                        var module = Pop(stack, marks, source, opAt);
                        if (module is not string m || name is not string n)
                            throw Error(source, "STACK_GLOBAL without two strings", opAt);
                        stack.Add(ResolveGlobal(m, n, source));
                        break;
                    }
                case (byte)'R': // REDUCE
                    {
                        var args = Pop(stack, marks, source, opAt);
                        var callable = Pop(stack, marks, source, opAt);
                        stack.Add(Reduce(callable, args, source, opAt));
                        break;
                    }
                case (byte)'b': // BUILD: only an OrderedDict's attribute state (torch's _metadata), which is dropped
                    {
                        Pop(stack, marks, source, opAt);
                        if (Peek(stack, marks, source, opAt) is not PickleDict)
                            throw Error(source, "BUILD on something other than a dict", opAt);
                        break;
                    }
                case (byte)'Q': // BINPERSID
                    stack.Add(persistentLoad(Pop(stack, marks, source, opAt)));
                    break;
                case (byte)'q': memo[Take(data, ref pos, 1, source)[0]] = Peek(stack, marks, source, opAt); break;
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(data, ref pos, 4, source))] = Peek(stack, marks, source, opAt); break;
                case 0x94: memo[memo.Count] = Peek(stack, marks, source, opAt); break; // MEMOIZE
                case (byte)'h': stack.Add(MemoGet(memo, Take(data, ref pos, 1, source)[0], source, opAt)); break;
                case (byte)'j': stack.Add(MemoGet(memo, BinaryPrimitives.ReadUInt32LittleEndian(Take(data, ref pos, 4, source)), source, opAt)); break;
                default:
                    throw Error(source, $"unsupported pickle opcode 0x{op:x2}", opAt);
            }
        }
    }

    private static object ResolveGlobal(string module, string name, string source)
    {
        switch (module)
        {
            case "collections" when name == "OrderedDict":
            case "torch._utils" when name is "_rebuild_tensor_v2" or "_rebuild_tensor" or "_rebuild_parameter":
                return new PickleGlobal(module, name);
            case "torch" when StorageTypes.TryGetValue(name, out var dtype):
                return new TorchStorageType(name, dtype);
            default:
                throw new ModelFileException(
                    $"{source}: the pickle names the global '{module}.{name}'; only torch tensor and storage globals and collections.OrderedDict are accepted, so the file is refused");
        }
    }

    private static object? Reduce(object? callable, object? args, string source, int at)
    {
        if (callable is not PickleGlobal g || args is not object?[] a)
            throw Error(source, "REDUCE of something that is not an accepted global applied to a tuple", at);
        switch (g.Name)
        {
            case "OrderedDict":
                if (a.Length != 0)
                    throw Error(source, "collections.OrderedDict called with arguments", at);
                return new PickleDict();
            case "_rebuild_tensor_v2" when a.Length is >= 4 and <= 7:
            case "_rebuild_tensor" when a.Length == 4:
                if (a[0] is not TorchStorage storage || a[1] is not long offset)
                    throw Error(source, $"{g.FullName} without a storage and an offset", at);
                return new TorchTensorRef(storage, offset, LongTuple(a[2], source, at), LongTuple(a[3], source, at));
            case "_rebuild_parameter" when a.Length == 3 && a[0] is TorchTensorRef tensor:
                return tensor;
            default:
                throw Error(source, $"{g.FullName} called with unexpected arguments", at);
        }
    }

    private static long[] LongTuple(object? value, string source, int at)
    {
        if (value is not object?[] t || t.Length > 8)
            throw Error(source, "tensor size or stride is not a tuple of at most 8 integers", at);
        var result = new long[t.Length];
        for (int i = 0; i < t.Length; i++)
            result[i] = t[i] is long l ? l : throw Error(source, "tensor size or stride holds a non-integer", at);
        return result;
    }

    private static PickleDict SetItems(PickleDict dict, List<object?> items, string source, int at)
    {
        if (items.Count % 2 != 0)
            throw Error(source, "odd number of items for a dict", at);
        for (int i = 0; i < items.Count; i += 2)
            dict.Set(items[i], items[i + 1]);
        return dict;
    }

    private static List<object?> AsList(object? value, string source, int at) =>
        value as List<object?> ?? throw Error(source, "APPEND to something other than a list", at);

    private static PickleDict AsDict(object? value, string source, int at) =>
        value as PickleDict ?? throw Error(source, "SETITEM on something other than a dict", at);

    private static object? MemoGet(Dictionary<long, object?> memo, long key, string source, int at) =>
        memo.TryGetValue(key, out var value) ? value : throw Error(source, $"memo key {key} was never stored", at);

    private static object? Pop(List<object?> stack, Stack<int> marks, string source, int at)
    {
        int floor = marks.Count > 0 ? marks.Peek() : 0;
        if (stack.Count <= floor)
            throw Error(source, "pickle stack underflow", at);
        var value = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return value;
    }

    private static object? Peek(List<object?> stack, Stack<int> marks, string source, int at)
    {
        int floor = marks.Count > 0 ? marks.Peek() : 0;
        if (stack.Count <= floor)
            throw Error(source, "pickle stack underflow", at);
        return stack[^1];
    }

    private static List<object?> PopToMark(List<object?> stack, Stack<int> marks, string source, int at)
    {
        if (marks.Count == 0)
            throw Error(source, "no MARK on the pickle stack", at);
        int start = marks.Pop();
        var items = stack.GetRange(start, stack.Count - start);
        stack.RemoveRange(start, stack.Count - start);
        return items;
    }

    private static object?[] PopTuple(List<object?> stack, Stack<int> marks, int count, string source, int at)
    {
        var items = new object?[count];
        for (int i = count - 1; i >= 0; i--)
            items[i] = Pop(stack, marks, source, at);
        return items;
    }

    private static ReadOnlySpan<byte> Take(ReadOnlySpan<byte> data, ref int pos, int count, string source)
    {
        if (count < 0 || count > data.Length - pos)
            throw Error(source, $"pickle truncated (needs {count} more bytes)", pos);
        var slice = data.Slice(pos, count);
        pos += count;
        return slice;
    }

    private static int Length32(ReadOnlySpan<byte> data, ref int pos, string source, int at)
    {
        uint n = BinaryPrimitives.ReadUInt32LittleEndian(Take(data, ref pos, 4, source));
        if (n > (uint)(data.Length - pos))
            throw Error(source, $"string or bytes length {n} runs past the end of the pickle", at);
        return (int)n;
    }

    private static string ReadLine(ReadOnlySpan<byte> data, ref int pos, string source, int at)
    {
        var rest = data[pos..];
        int end = rest[..Math.Min(rest.Length, MaxLineLength)].IndexOf((byte)'\n');
        if (end < 0)
            throw Error(source, "GLOBAL name is not terminated by a newline within 256 bytes", at);
        pos += end + 1;
        return Utf8(rest[..end], source, at);
    }

    private static string Utf8(ReadOnlySpan<byte> bytes, string source, int at)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Error(source, "string is not valid UTF-8", at);
        }
    }

    private static object LittleEndianInteger(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0)
            return 0L;
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (long)value : value;
    }

    private static ModelFileException Error(string source, string problem, int offset) =>
        new($"{source}: {problem} (pickle offset {offset})");
}
