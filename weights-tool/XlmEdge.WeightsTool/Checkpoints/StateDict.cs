namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>Turns an unpickled torch state dict into tensor locations in the mapped file.</summary>
internal static class StateDict
{
    /// <summary>storageDataOffset gives the file offset of a storage's first byte and checks that the storage fits.</summary>
    public static IReadOnlyDictionary<string, CheckpointTensor> ToTensors(object? root, string source, Func<TorchStorage, long> storageDataOffset)
    {
        if (root is not PickleDict dict)
            throw new ModelFileException($"{source}: the pickle is not a state dict (a dict of tensors)");
        var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        foreach (var (key, value) in dict.Items)
        {
            if (key is not string name)
                throw new ModelFileException($"{source}: the state dict has a key that is not a string");
            if (value is not TorchTensorRef t)
                throw new ModelFileException($"{source}: state dict entry '{name}' is not a tensor");
            long start = storageDataOffset(t.Storage);
            var (first, count) = t.ContiguousRange(name, source);
            int size = SourceDTypes.Size(t.Storage.DType);
            tensors[name] = new CheckpointTensor(name, t.Storage.DType, t.Size, start + first * size, count * size);
        }
        return tensors;
    }
}
