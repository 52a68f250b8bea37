namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>A Python dict or collections.OrderedDict, keys in insertion order (last write wins).</summary>
internal sealed class PickleDict
{
    private readonly List<KeyValuePair<object?, object?>> _items = [];
    private readonly Dictionary<object, int> _index = [];

    public IReadOnlyList<KeyValuePair<object?, object?>> Items => _items;

    public void Set(object? key, object? value)
    {
        if (key is not null && _index.TryGetValue(key, out int at))
        {
            _items[at] = new(key, value);
            return;
        }
        if (key is not null)
            _index[key] = _items.Count;
        _items.Add(new(key, value));
    }
}

/// <summary>One of the few globals the restricted unpickler lets a pickle name.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public string FullName => Module + "." + Name;
}

/// <summary>A torch storage class (torch.FloatStorage, ...) named by a persistent id.</summary>
internal sealed record TorchStorageType(string Name, SourceDType DType);

/// <summary>A storage that a persistent id refers to: its key (zip entry or legacy record), type and element count.</summary>
internal sealed record TorchStorage(string Key, SourceDType DType, long ElementCount)
{
    /// <summary>
    /// Parses ('storage', type, key, location, numel) (zip format) or the same with a sixth
    /// view-metadata element that must be None (legacy format).
    /// </summary>
    public static TorchStorage FromPersistentId(object? pid, string source)
    {
        if (pid is not object?[] t || t.Length is < 5 or > 6 || t[0] is not "storage")
            throw new ModelFileException($"{source}: unexpected persistent id in the pickle (not a torch storage reference)");
        if (t[1] is not TorchStorageType type)
            throw new ModelFileException($"{source}: storage reference without a torch storage type");
        string key = t[2] switch
        {
            string s => s,
            long l => l.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => throw new ModelFileException($"{source}: storage reference with an invalid key"),
        };
        if (t[4] is not long numel || numel < 0)
            throw new ModelFileException($"{source}: storage '{key}' has an invalid element count");
        if (t.Length == 6 && t[5] is not null)
            throw new ModelFileException($"{source}: storage '{key}' is a view of another storage, which is not supported");
        return new TorchStorage(key, type.DType, numel);
    }
}

/// <summary>torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, ...) as data.</summary>
internal sealed record TorchTensorRef(TorchStorage Storage, long StorageOffset, long[] Size, long[] Stride)
{
    /// <summary>Checks the view is contiguous and inside its storage; returns its element range.</summary>
    public (long FirstElement, long ElementCount) ContiguousRange(string name, string source)
    {
        long count = SourceDTypes.ElementCount(Size);
        if (count < 0 || Size.Length != Stride.Length)
            throw new ModelFileException($"{source}: tensor '{name}' has an invalid shape {SourceDTypes.FormatShape(Size)}");
        long expected = 1;
        for (int i = Size.Length - 1; i >= 0; i--)
        {
            if (Size[i] != 1 && Stride[i] != expected)
                throw new ModelFileException($"{source}: tensor '{name}' is not contiguous (shape {SourceDTypes.FormatShape(Size)}, stride {SourceDTypes.FormatShape(Stride)})");
            expected *= Size[i];
        }
        if (StorageOffset < 0 || StorageOffset > Storage.ElementCount || count > Storage.ElementCount - StorageOffset)
            throw new ModelFileException($"{source}: tensor '{name}' (offset {StorageOffset}, {count} elements) lies outside its storage '{Storage.Key}' of {Storage.ElementCount} elements");
        return (StorageOffset, count);
    }
}
