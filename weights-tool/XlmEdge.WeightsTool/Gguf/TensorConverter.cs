using System.Buffers.Binary;
using System.Runtime.InteropServices;
using XlmEdge.Kernels;
using XlmEdge.Weights;
using XlmEdge.WeightsTool.Checkpoints;

namespace XlmEdge.WeightsTool.Gguf;

/// <summary>
/// Converts one checkpoint tensor (F32, F16 or BF16) into GGUF F32 or F16 bytes, a chunk at a
/// time, straight into the output stream. Every value is checked: NaN or infinity in the source
/// and a value that overflows fp16 are errors naming the tensor and the element; the largest
/// fp16 rounding error is tracked for the report. The blocks' Linear weights are written in row panels
/// (<see cref="PanelLayout"/>): converted 32 rows at a time and reordered before encoding.
/// </summary>
internal sealed class TensorConverter
{
    private const int ChunkElements = 1 << 18;
    private byte[] _buffer = new byte[ChunkElements * 4];
    private float[] _values = new float[ChunkElements];
    private byte[] _panel = [];

    public float MaxRoundingError { get; private set; }
    public string? MaxRoundingErrorTensor { get; private set; }

    public void Write(MappedFile source, CheckpointTensor tensor, GgufTensorType target, Stream output, Action<long>? progress = null, bool panels = false)
    {
        int size = SourceDTypes.Size(tensor.DType);
        long count = tensor.ElementCount;
        // Panels: one panel of rows per chunk (the rows after the last full panel are one more).
        int K = panels ? checked((int)tensor.Shape[1]) : 0, N = panels ? checked((int)tensor.Shape[0]) : 0;
        if (panels && (long)PanelLayout.Rows * K > _values.Length)
        {
            _values = new float[PanelLayout.Rows * K];
            _buffer = new byte[_values.Length * 4];
        }
        for (long done = 0; done < count;)
        {
            int n = panels ? Math.Min(PanelLayout.Rows, N - (int)(done / K)) * K : (int)Math.Min(ChunkElements, count - done);
            var raw = source.Span(tensor.DataOffset + done * size, (long)n * size, $"data of tensor '{tensor.Name}'");
            var values = _values.AsSpan(0, n);
            Decode(tensor.DType, raw, values);
            for (int i = 0; i < n; i++)
            {
                if (!float.IsFinite(values[i]))
                    throw new ModelFileException($"tensor '{tensor.Name}' has {(float.IsNaN(values[i]) ? "NaN" : "an infinity")} at index {Index(tensor.Shape, done + i)}");
            }
            int bytes = target == GgufTensorType.F16 ? EncodeHalf(tensor, values, done) : EncodeSingle(values);
            output.Write(panels ? Reorder(bytes, n / K, K, target) : _buffer, 0, bytes);
            done += n;
            progress?.Invoke(bytes);
        }
    }

    /// <summary>Encoded rows [rows, K] -> their panel ([K][32] in fp16 pair order or row order, or [K][rows] for the last rows).</summary>
    private byte[] Reorder(int bytes, int rows, int K, GgufTensorType target)
    {
        if (_panel.Length < bytes)
            _panel = new byte[bytes];
        var encoded = _buffer.AsSpan(0, bytes);
        var panel = _panel.AsSpan(0, bytes);
        if (target == GgufTensorType.F16)
            PanelLayout.Pack<Half>(MemoryMarshal.Cast<byte, Half>(encoded), rows, K, MemoryMarshal.Cast<byte, Half>(panel), pairs: true);
        else
            PanelLayout.Pack<float>(MemoryMarshal.Cast<byte, float>(encoded), rows, K, MemoryMarshal.Cast<byte, float>(panel), pairs: false);
        return _panel;
    }

    private static void Decode(SourceDType dtype, ReadOnlySpan<byte> raw, Span<float> values)
    {
        switch (dtype)
        {
            case SourceDType.F32:
                if (BitConverter.IsLittleEndian)
                    MemoryMarshal.Cast<byte, float>(raw).CopyTo(values);
                else
                    for (int i = 0; i < values.Length; i++)
                        values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]);
                break;
            case SourceDType.F16:
                for (int i = 0; i < values.Length; i++)
                    values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(raw[(2 * i)..]);
                break;
            case SourceDType.BF16:
                for (int i = 0; i < values.Length; i++)
                    values[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]) << 16);
                break;
            default:
                throw new InvalidOperationException($"{dtype} cannot be converted");
        }
    }

    private int EncodeHalf(CheckpointTensor tensor, ReadOnlySpan<float> values, long firstIndex)
    {
        var output = _buffer.AsSpan(0, values.Length * 2);
        float maxError = MaxRoundingError;
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            var h = (Half)v;
            if (Half.IsInfinity(h))
                throw new ModelFileException($"tensor '{tensor.Name}': value {v} at index {Index(tensor.Shape, firstIndex + i)} overflows fp16 (largest 65504); pack with --dtype f32");
            float error = MathF.Abs((float)h - v);
            if (error > maxError)
                maxError = error;
            BinaryPrimitives.WriteHalfLittleEndian(output[(2 * i)..], h);
        }
        if (maxError > MaxRoundingError)
        {
            MaxRoundingError = maxError;
            MaxRoundingErrorTensor = tensor.Name;
        }
        return output.Length;
    }

    private int EncodeSingle(ReadOnlySpan<float> values)
    {
        var output = _buffer.AsSpan(0, values.Length * 4);
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(output[(4 * i)..], values[i]);
        return output.Length;
    }

    /// <summary>A flat element index as a PyTorch index, e.g. [3, 17].</summary>
    internal static string Index(long[] shape, long flat)
    {
        var index = new long[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] == 0)
                break;
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
        return SourceDTypes.FormatShape(index);
    }
}
