using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Algorithms.ScanReduceOperations;
using XlmEdge.Kernels;
using DeviceHalf = ILGPU.Half;

namespace XlmEdge.Gpu;

/// <summary>A weight element type the kernels read (fp16 or fp32), widened to fp32 in registers.</summary>
internal interface IWeightElement<T> where T : unmanaged
{
    float Widen(T value);
}

/// <summary>fp16 weights: ILGPU.Half, the same bits as System.Half.</summary>
internal readonly struct HalfElement : IWeightElement<DeviceHalf>
{
    public float Widen(DeviceHalf value) => value;
}

/// <summary>fp32 weights.</summary>
internal readonly struct SingleElement : IWeightElement<float>
{
    public float Widen(float value) => value;
}

/// <summary>
/// The device kernels, written once for every ILGPU accelerator (CUDA, and the CPU accelerator that
/// tests run them on). Activations are fp32 row-major; a batch is B sentences padded to Tmax tokens,
/// so row b·Tmax + p holds token p of sentence b and rows past a sentence's length are padding.
/// Every kernel loops over its work with a grid stride, so any grid size covers any shape: the
/// launcher picks a grid that fills the device (<see cref="DeviceOps{TW, TE}"/>).
/// </summary>
/// <remarks>
/// Each kernel mirrors a scalar twin of src/XlmEdge/Kernels in its order of operations, so the
/// tests compare them with the bounds the CPU kernels meet (tests/XlmEdge.Gpu.Tests). GELU is the
/// CPU's own scalar function (Activations.GeluScalar), compiled for the device: ILGPU maps MathF.Exp
/// to its device exponential (ex2-based on CUDA).
/// </remarks>
internal static class DeviceKernels
{
    private static int Stride => Grid.DimX * Group.DimX;

    /// <summary>destination[i] = (float)source[i]: fp16 weights widened once on the device (for cuBLAS Sgemm).</summary>
    public static void Widen(ArrayView<DeviceHalf> source, ArrayView<float> destination, int count)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Stride)
            destination[i] = source[i];
    }

    /// <summary>
    /// x[b·Tmax + p] = E_word[ids] + E_pos[p] + E_lang[language of b] for p &lt; length of b, zero
    /// for padding (XlmEncoder.Embed). ids: [B·Tmax]; word, position, language: [*, d]; x: [B·Tmax, d].
    /// </summary>
    public static void Embed<TW, TE>(ArrayView<int> ids, ArrayView<int> lengths, ArrayView<int> languages,
        ArrayView<TW> word, ArrayView<TW> position, ArrayView<TW> language, int hasLanguage,
        ArrayView<float> x, int tmax, int d, int count)
        where TW : unmanaged where TE : struct, IWeightElement<TW>
    {
        TE e = default;
        for (int i = Grid.GlobalIndex.X; i < count; i += Stride)
        {
            int row = i / d, c = i % d;
            int b = row / tmax, p = row % tmax;
            if (p >= lengths[b])
            {
                x[i] = 0f;
                continue;
            }
            float v = e.Widen(word[ids[row] * d + c]) + e.Widen(position[p * d + c]);
            if (hasLanguage != 0)
                v += e.Widen(language[languages[b] * d + c]);
            x[i] = v;
        }
    }

    /// <summary>
    /// x = LN(x + residual)·γ + β per row, then padding rows zeroed (the XLM pad mask). One warp per
    /// row; mean and biased variance in two passes over the row, each a warp reduction
    /// (ILGPU.Algorithms), as LayerNorm.AddNormalizeScalar. x, residual: [rows, d].
    /// </summary>
    /// <remarks>
    /// A warp per row rather than a group: its reductions are register shuffles with no barrier
    /// (and on ILGPU's CPU accelerator, which synchronises simulated threads with OS primitives,
    /// group reductions were 5x slower per row than warp reductions: 0.8 against 0.15 ms). At
    /// d = 1024 each of 32 lanes holds 32 values per pass.
    /// </remarks>
    public static void AddNormalize(ArrayView<float> x, ArrayView<float> residual, int hasResidual,
        ArrayView<float> gamma, ArrayView<float> beta, ArrayView<int> lengths, int tmax, int rows, int d, float eps)
    {
        int warps = Group.DimX / Warp.WarpSize;
        for (int row = Grid.IdxX * warps + Warp.WarpIdx; row < rows; row += Grid.DimX * warps)
        {
            int offset = row * d;
            float sum = 0f;
            for (int c = Warp.LaneIdx; c < d; c += Warp.WarpSize)
            {
                float v = x[offset + c];
                if (hasResidual != 0)
                {
                    v += residual[offset + c];
                    x[offset + c] = v;
                }
                sum += v;
            }
            float mean = WarpExtensions.AllReduce<float, AddFloat>(sum) / d;
            float squares = 0f;
            for (int c = Warp.LaneIdx; c < d; c += Warp.WarpSize)
            {
                float t = x[offset + c] - mean;
                squares += t * t;
            }
            float rstd = 1f / MathF.Sqrt(WarpExtensions.AllReduce<float, AddFloat>(squares) / d + eps);
            float keep = row % tmax < lengths[row / tmax] ? 1f : 0f;
            for (int c = Warp.LaneIdx; c < d; c += Warp.WarpSize)
                x[offset + c] = ((x[offset + c] - mean) * rstd * gamma[c] + beta[c]) * keep;
        }
    }

    /// <summary>
    /// y[M, N] = x[M, K] w[N, K]^T + bias, then GELU when <paramref name="gelu"/> is 1: one thread per
    /// output, k in order, as Linear.ForwardScalar. The own GEMM: it runs where cuBLAS does not
    /// (ILGPU's CPU accelerator) and reads fp16 weights in place. Threads next to each other take
    /// rows next to each other, so a warp reads each weight once.
    /// </summary>
    public static void Linear<TW, TE>(ArrayView<float> x, ArrayView<TW> w, ArrayView<float> bias, ArrayView<float> y,
        int m, int n, int k, int gelu)
        where TW : unmanaged where TE : struct, IWeightElement<TW>
    {
        TE e = default;
        int count = m * n;
        for (int i = Grid.GlobalIndex.X; i < count; i += Stride)
        {
            int row = i % m, col = i / m;
            int xo = row * k, wo = col * k;
            float sum = 0f;
            for (int j = 0; j < k; j++)
                sum += x[xo + j] * e.Widen(w[wo + j]);
            sum += bias[col];
            y[row * n + col] = gelu != 0 ? Activations.GeluScalar(sum) : sum;
        }
    }

    /// <summary>y[M, N] += bias, then GELU when <paramref name="gelu"/> is 1: the epilogue after a cuBLAS GEMM.</summary>
    public static void BiasActivation(ArrayView<float> y, ArrayView<float> bias, int count, int n, int gelu)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Stride)
        {
            float v = y[i] + bias[i % n];
            y[i] = gelu != 0 ? Activations.GeluScalar(v) : v;
        }
    }

    /// <summary>
    /// Multi-head self-attention over a padded batch: output = softmax((q / √hd) k^T) v per head,
    /// keys at or past a sentence's length masked out; padding queries get zeros. One thread per
    /// (sentence, head, query); three passes over the keys (maximum, sum of exponentials, weighted
    /// values) in the order of Attention.SelfAttentionScalar, so the softmax needs no scratch row.
    /// q, k, v, output: [B·Tmax, heads·hd].
    /// </summary>
    public static void Attention(ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> output,
        ArrayView<int> lengths, int batch, int tmax, int heads, int headDim, float scale)
    {
        int d = heads * headDim;
        int count = batch * heads * tmax;
        for (int index = Grid.GlobalIndex.X; index < count; index += Stride)
        {
            // consecutive threads take consecutive queries of one head: a warp reads each key once
            int i = index % tmax, head = index / tmax % heads, b = index / (tmax * heads);
            int length = lengths[b];
            int qo = (b * tmax + i) * d + head * headDim;
            int first = b * tmax * d + head * headDim;
            if (i >= length)
            {
                for (int c = 0; c < headDim; c++)
                    output[qo + c] = 0f;
                continue;
            }
            float max = float.NegativeInfinity;
            for (int j = 0; j < length; j++)
                max = MathF.Max(max, Dot(q, k, qo, first + j * d, headDim) * scale);
            float sum = 0f;
            for (int j = 0; j < length; j++)
                sum += MathF.Exp(Dot(q, k, qo, first + j * d, headDim) * scale - max);
            float inverse = 1f / sum;
            for (int c = 0; c < headDim; c++)
                output[qo + c] = 0f;
            for (int j = 0; j < length; j++)
            {
                float p = MathF.Exp(Dot(q, k, qo, first + j * d, headDim) * scale - max) * inverse;
                int vo = first + j * d;
                for (int c = 0; c < headDim; c++)
                    output[qo + c] += p * v[vo + c];
            }
        }
    }

    /// <summary>destination[r] = source[rows[r]] for each of the rows asked for: the masks' hidden states. source: [*, d].</summary>
    public static void GatherRows(ArrayView<float> source, ArrayView<int> rows, ArrayView<float> destination, int d, int count)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Stride)
            destination[i] = source[rows[i / d] * d + i % d];
    }

    private static float Dot(ArrayView<float> a, ArrayView<float> b, int ao, int bo, int length)
    {
        float dot = 0f;
        for (int c = 0; c < length; c++)
            dot += a[ao + c] * b[bo + c];
        return dot;
    }
}
