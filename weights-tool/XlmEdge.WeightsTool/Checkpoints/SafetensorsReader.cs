using System.Buffers.Binary;
using System.Text.Json;

namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>
/// Reads the tensor table of a .safetensors file: an 8-byte little-endian header length, a JSON
/// header naming each tensor's dtype, shape and data_offsets (relative to the end of the
/// header), then the raw little-endian data. Every offset is checked against the file and
/// against the other tensors (no overlaps) before anything is read.
/// </summary>
internal static class SafetensorsReader
{
    /// <summary>Real headers are a few KiB per hundred tensors; this bounds the allocation.</summary>
    private const long MaxHeaderBytes = 100L << 20;

    public static IReadOnlyDictionary<string, CheckpointTensor> Read(MappedFile file)
    {
        if (file.Length < 8)
            throw new ModelFileException($"{file.Name}: too short for a safetensors header ({file.Length} bytes)");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file.Span(0, 8, "header length"));
        if (headerLength > MaxHeaderBytes || (long)headerLength > file.Length - 8)
            throw new ModelFileException($"{file.Name}: safetensors header length {headerLength} exceeds the file ({file.Length} bytes) or the {MaxHeaderBytes}-byte limit");
        long dataStart = 8 + (long)headerLength;
        long dataLength = file.Length - dataStart;

        var doc = InputFiles.ParseJson(file.Span(8, (long)headerLength, "header").ToArray(), $"{file.Name}: safetensors header", maxDepth: 16);
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelFileException($"{file.Name}: safetensors header is not a JSON object");
            var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
            var ranges = new List<(long Begin, long End, string Name)>();
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                    continue;
                var t = ReadEntry(file.Name, property.Name, property.Value, dataStart, dataLength);
                if (!tensors.TryAdd(t.Name, t))
                    throw new ModelFileException($"{file.Name}: tensor '{t.Name}' appears twice in the safetensors header");
                ranges.Add((t.DataOffset, t.DataOffset + t.ByteLength, t.Name));
            }
            ranges.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            for (int i = 1; i < ranges.Count; i++)
            {
                if (ranges[i].Begin < ranges[i - 1].End)
                    throw new ModelFileException($"{file.Name}: data of tensors '{ranges[i - 1].Name}' and '{ranges[i].Name}' overlap");
            }
            return tensors;
        }
    }

    private static CheckpointTensor ReadEntry(string file, string name, JsonElement entry, long dataStart, long dataLength)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw new ModelFileException($"{file}: header entry of tensor '{name}' is not an object");
        if (!entry.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new ModelFileException($"{file}: tensor '{name}' has no dtype");
        var dtype = ParseDType(file, name, dtypeElement.GetString()!);
        if (!entry.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new ModelFileException($"{file}: tensor '{name}' has no shape array");
        if (shapeElement.GetArrayLength() > 8)
            throw new ModelFileException($"{file}: tensor '{name}' has {shapeElement.GetArrayLength()} dimensions");
        var shape = new long[shapeElement.GetArrayLength()];
        int i = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out shape[i]) || shape[i] < 0)
                throw new ModelFileException($"{file}: tensor '{name}' has an invalid dimension in its shape");
            i++;
        }
        if (!entry.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2)
            throw new ModelFileException($"{file}: tensor '{name}' has no [begin, end] data_offsets");
        var begin = offsetsElement[0];
        var end = offsetsElement[1];
        if (begin.ValueKind != JsonValueKind.Number || end.ValueKind != JsonValueKind.Number
            || !begin.TryGetInt64(out long b) || !end.TryGetInt64(out long e) || b < 0 || e < b)
            throw new ModelFileException($"{file}: tensor '{name}' has invalid data_offsets");
        if (e > dataLength)
            throw new ModelFileException($"{file}: data of tensor '{name}' (bytes {b}..{e} after the header) runs past the end of the file ({dataLength} data bytes)");
        long count = SourceDTypes.ElementCount(shape);
        if (count < 0 || count > (e - b) / SourceDTypes.Size(dtype) || count * SourceDTypes.Size(dtype) != e - b)
            throw new ModelFileException($"{file}: tensor '{name}' has shape {SourceDTypes.FormatShape(shape)} of {dtype} but {e - b} data bytes");
        return new CheckpointTensor(name, dtype, shape, dataStart + b, e - b);
    }

    private static SourceDType ParseDType(string file, string name, string dtype) => dtype switch
    {
        "F32" => SourceDType.F32,
        "F16" => SourceDType.F16,
        "BF16" => SourceDType.BF16,
        "F64" => SourceDType.F64,
        "I64" => SourceDType.I64,
        "I32" => SourceDType.I32,
        "I16" => SourceDType.I16,
        "I8" => SourceDType.I8,
        "U8" => SourceDType.U8,
        "BOOL" => SourceDType.Bool,
        _ => throw new ModelFileException($"{file}: tensor '{name}' has unsupported dtype '{dtype}'"),
    };
}
