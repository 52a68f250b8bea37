namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>Element types a checkpoint may store. Only F32, F16 and BF16 can be packed.</summary>
internal enum SourceDType
{
    F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool,
}

internal static class SourceDTypes
{
    public static int Size(SourceDType t) => t switch
    {
        SourceDType.F64 or SourceDType.I64 => 8,
        SourceDType.F32 or SourceDType.I32 => 4,
        SourceDType.F16 or SourceDType.BF16 or SourceDType.I16 => 2,
        _ => 1,
    };

    public static bool IsPackable(SourceDType t) => t is SourceDType.F32 or SourceDType.F16 or SourceDType.BF16;

    /// <summary>Element count of a shape, or -1 when a dimension is negative or the product overflows.</summary>
    public static long ElementCount(ReadOnlySpan<long> shape)
    {
        long n = 1;
        foreach (long d in shape)
        {
            if (d < 0)
                return -1;
            if (d != 0 && n > long.MaxValue / d)
                return -1;
            n *= d;
        }
        return n;
    }

    public static string FormatShape(ReadOnlySpan<long> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}

/// <summary>
/// One tensor of a checkpoint: its HF name, element type, PyTorch shape (outermost first) and
/// where its contiguous little-endian bytes lie in the mapped file.
/// </summary>
internal sealed record CheckpointTensor(string Name, SourceDType DType, long[] Shape, long DataOffset, long ByteLength)
{
    public long ElementCount => SourceDTypes.ElementCount(Shape);
}
