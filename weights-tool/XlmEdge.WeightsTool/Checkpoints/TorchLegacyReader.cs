using System.Buffers.Binary;
using System.Numerics;

namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>
/// Reads the pre-1.6 torch.save format (2019 hub checkpoints): five pickles in a row (magic
/// number, protocol version 1001, system info, the state dict, the list of storage keys), then
/// for each key in that list an int64 element count followed by the storage's raw bytes.
/// </summary>
internal static class TorchLegacyReader
{
    private static readonly BigInteger MagicNumber = BigInteger.Parse("1950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber);
    private const long ProtocolVersion = 1001;

    /// <summary>PROTO 2, then LONG1 of 10 bytes: the magic number.</summary>
    public static bool LooksLikeLegacy(ReadOnlySpan<byte> head) =>
        head.Length >= 4 && head[0] == 0x80 && head[1] == 0x02 && head[2] == 0x8a && head[3] == 0x0a;

    public static IReadOnlyDictionary<string, CheckpointTensor> Read(MappedFile file)
    {
        string source = file.Name;
        long pos = 0;
        object? Next(Func<object?, object?> persistentLoad)
        {
            var rest = file.Span(pos, Math.Min(file.Length - pos, int.MaxValue), "pickle");
            var value = RestrictedUnpickler.Load(rest, persistentLoad, source, out int consumed);
            pos += consumed;
            return value;
        }
        static object? NoPersistentIds(object? _) => throw new ModelFileException("unexpected persistent id outside the state dict");

        if (Next(NoPersistentIds) is not BigInteger magic || magic != MagicNumber)
            throw new ModelFileException($"{source}: not a legacy PyTorch checkpoint (wrong magic number)");
        if (Next(NoPersistentIds) is not long version || version != ProtocolVersion)
            throw new ModelFileException($"{source}: unsupported legacy PyTorch protocol version");
        if (Next(NoPersistentIds) is PickleDict sysInfo
            && sysInfo.Items.Any(kv => kv.Key is "little_endian" && kv.Value is false))
            throw new ModelFileException($"{source}: big-endian checkpoints are not supported");

        var storages = new Dictionary<string, TorchStorage>(StringComparer.Ordinal);
        var root = Next(pid =>
        {
            var s = TorchStorage.FromPersistentId(pid, source);
            if (storages.TryGetValue(s.Key, out var seen) && seen != s)
                throw new ModelFileException($"{source}: storage '{s.Key}' is described twice with different types or sizes");
            storages[s.Key] = s;
            return s;
        });
        if (Next(NoPersistentIds) is not List<object?> keys)
            throw new ModelFileException($"{source}: the storage key list is missing");

        var dataOffsets = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var item in keys)
        {
            if (item is not string key || !storages.TryGetValue(key, out var storage))
                throw new ModelFileException($"{source}: the storage key list names a storage the state dict does not use");
            long count = BinaryPrimitives.ReadInt64LittleEndian(file.Span(pos, 8, $"element count of storage '{key}'"));
            int size = SourceDTypes.Size(storage.DType);
            if (count < 0 || count > (file.Length - pos - 8) / size)
                throw new ModelFileException($"{source}: storage '{key}' claims {count} elements, more than the file holds");
            if (count < storage.ElementCount)
                throw new ModelFileException($"{source}: storage '{key}' holds {count} elements, {storage.ElementCount} expected");
            dataOffsets[key] = pos + 8;
            pos += 8 + count * size;
        }

        return StateDict.ToTensors(root, source, storage =>
            dataOffsets.TryGetValue(storage.Key, out long offset)
                ? offset
                : throw new ModelFileException($"{source}: data of storage '{storage.Key}' is missing"));
    }
}
