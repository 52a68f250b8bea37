using System.Text;

namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>
/// Reads a torch.save zip checkpoint (torch >= 1.6): FOLDER/data.pkl (a state-dict pickle whose
/// tensors refer to storages by key) and FOLDER/data/KEY (each storage's raw little-endian
/// bytes, stored uncompressed). FOLDER is whatever the writer chose (archive, the file stem, ...).
/// </summary>
internal static class TorchZipReader
{
    public static bool LooksLikeZip(ReadOnlySpan<byte> head) => head.Length >= 4 && head[..4].SequenceEqual("PK\x03\x04"u8);

    public static IReadOnlyDictionary<string, CheckpointTensor> Read(MappedFile file)
    {
        var entries = ZipDirectory.Read(file);
        var pickles = entries.Where(e => IsTopLevel(e.Name, "data.pkl")).ToList();
        if (pickles.Count != 1)
            throw new ModelFileException($"{file.Name}: expected exactly one FOLDER/data.pkl entry in the zip, found {pickles.Count}");
        var pickle = pickles[0];
        string folder = pickle.Name[..^"data.pkl".Length];
        var byName = new Dictionary<string, ZipEntry>(StringComparer.Ordinal);
        foreach (var e in entries)
            byName.TryAdd(e.Name, e);

        if (byName.TryGetValue(folder + "byteorder", out var order))
        {
            var text = Encoding.ASCII.GetString(StoredBytes(file, order, 16)).Trim();
            if (text != "little")
                throw new ModelFileException($"{file.Name}: tensors are stored in '{text}' byte order; only little-endian checkpoints are supported");
        }

        string source = file.Name + ":" + pickle.Name;
        var root = RestrictedUnpickler.Load(StoredBytes(file, pickle, int.MaxValue),
            pid => TorchStorage.FromPersistentId(pid, source), source, out _);
        return StateDict.ToTensors(root, source, storage =>
        {
            if (!byName.TryGetValue(folder + "data/" + storage.Key, out var entry))
                throw new ModelFileException($"{file.Name}: storage entry '{folder}data/{storage.Key}' is missing");
            if (entry.Method != ZipDirectory.Stored)
                throw new ModelFileException($"{file.Name}: storage entry '{entry.Name}' is compressed; torch writes storages uncompressed, so the file was re-packed (unzip and re-zip it with -0)");
            long needed = storage.ElementCount * SourceDTypes.Size(storage.DType);
            if (storage.ElementCount > long.MaxValue / 8 || entry.Size < needed)
                throw new ModelFileException($"{file.Name}: storage entry '{entry.Name}' holds {entry.Size} bytes, {needed} expected");
            return entry.DataOffset;
        });
    }

    private static bool IsTopLevel(string name, string leaf)
    {
        int slash = name.IndexOf('/');
        return slash > 0 && name.LastIndexOf('/') == slash && name[(slash + 1)..] == leaf;
    }

    private static ReadOnlySpan<byte> StoredBytes(MappedFile file, ZipEntry entry, long limit)
    {
        if (entry.Method != ZipDirectory.Stored)
            throw new ModelFileException($"{file.Name}: entry '{entry.Name}' is compressed; torch writes checkpoints uncompressed, so the file was re-packed (unzip and re-zip it with -0)");
        if (entry.Size != entry.CompressedSize || entry.Size > limit)
            throw new ModelFileException($"{file.Name}: entry '{entry.Name}' has an implausible size ({entry.Size} bytes)");
        return file.Span(entry.DataOffset, entry.Size, $"entry '{entry.Name}'");
    }
}
