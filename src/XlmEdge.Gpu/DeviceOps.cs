using ILGPU;
using ILGPU.Runtime;
using DeviceHalf = ILGPU.Half;

namespace XlmEdge.Gpu;

/// <summary>
/// The <see cref="DeviceKernels"/> loaded (compiled) for one accelerator and weight element type,
/// with the launch shape chosen once from the device: groups of up to 256 threads, and as many
/// groups as the multiprocessors hold at once (the kernels loop over the rest). Kernels compile on
/// first use, so a model compiles only those it runs. All launches go to the accelerator's default
/// stream, in order; nothing here waits for them.
/// </summary>
internal sealed class DeviceOps<TW, TE> where TW : unmanaged where TE : struct, IWeightElement<TW>
{
    private readonly int _group;
    private readonly int _maxGroups;
    // One thread per (sentence, head, query): smaller groups spread a short batch over more multiprocessors.
    private readonly int _attentionGroup;

    private Action<KernelConfig, ArrayView<DeviceHalf>, ArrayView<float>, int>? _widen;
    private Action<KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<TW>, ArrayView<TW>, ArrayView<TW>, int, ArrayView<float>, int, int, int>? _embed;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int, float>? _addNormalize;
    private Action<KernelConfig, ArrayView<float>, ArrayView<TW>, ArrayView<float>, ArrayView<float>, int, int, int, int>? _linear;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int>? _biasActivation;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int, int, float>? _attention;
    private Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>? _gatherRows;

    public DeviceOps(Accelerator accelerator)
    {
        Accelerator = accelerator;
        _group = Math.Min(256, accelerator.MaxNumThreadsPerGroup);
        _attentionGroup = Math.Min(64, accelerator.MaxNumThreadsPerGroup);
        _maxGroups = accelerator.NumMultiprocessors * Math.Max(1, accelerator.MaxNumThreadsPerMultiprocessor / _group);
    }

    public Accelerator Accelerator { get; }

    /// <summary>Kernels launched so far (benchmarks divide by calls).</summary>
    public long Launches { get; private set; }

    /// <summary>destination[0..count) = (float)source[0..count).</summary>
    public void Widen(ArrayView<DeviceHalf> source, ArrayView<float> destination, int count) =>
        (_widen ??= Accelerator.LoadStreamKernel<ArrayView<DeviceHalf>, ArrayView<float>, int>(DeviceKernels.Widen))(
            Spread(count, _group), source, destination, count);

    /// <summary>x[B·Tmax, d] = the embeddings of the padded batch (<see cref="DeviceKernels.Embed{TW, TE}"/>).</summary>
    public void Embed(ArrayView<int> ids, ArrayView<int> lengths, ArrayView<int> languages, ArrayView<TW> word,
        ArrayView<TW> position, ArrayView<TW>? language, ArrayView<float> x, int batch, int tmax, int d)
    {
        int count = batch * tmax * d;
        (_embed ??= Accelerator.LoadStreamKernel<ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<TW>, ArrayView<TW>, ArrayView<TW>, int, ArrayView<float>, int, int, int>(
            DeviceKernels.Embed<TW, TE>))(
            Spread(count, _group), ids, lengths, languages, word, position, language ?? position, language is null ? 0 : 1, x, tmax, d, count);
    }

    /// <summary>x = LN(x + residual)·γ + β row by row (a warp each), padding rows zeroed; no residual when it is null.</summary>
    public void AddNormalize(ArrayView<float> x, ArrayView<float>? residual, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<int> lengths, int tmax, int rows, int d, float eps) =>
        (_addNormalize ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int, float>(
            DeviceKernels.AddNormalize))(
            PerRow(rows), x, residual ?? x, residual is null ? 0 : 1, gamma, beta, lengths, tmax, rows, d, eps);

    /// <summary>y[M, N] = x[M, K] w^T + bias (GELU if asked), the own GEMM kernel.</summary>
    public void Linear(ArrayView<float> x, ArrayView<TW> w, ArrayView<float> bias, ArrayView<float> y, int m, int n, int k, bool gelu) =>
        (_linear ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<TW>, ArrayView<float>, ArrayView<float>, int, int, int, int>(
            DeviceKernels.Linear<TW, TE>))(
            Spread((long)m * n, _group), x, w, bias, y, m, n, k, gelu ? 1 : 0);

    /// <summary>y[M, N] += bias (GELU if asked): the epilogue of a cuBLAS GEMM.</summary>
    public void BiasActivation(ArrayView<float> y, ArrayView<float> bias, int m, int n, bool gelu) =>
        (_biasActivation ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(DeviceKernels.BiasActivation))(
            Spread((long)m * n, _group), y, bias, m * n, n, gelu ? 1 : 0);

    /// <summary>Masked multi-head self-attention over the padded batch (<see cref="DeviceKernels.Attention"/>).</summary>
    public void Attention(ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> output,
        ArrayView<int> lengths, int batch, int tmax, int heads, int headDim) =>
        (_attention ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int, int, float>(
            DeviceKernels.Attention))(
            Spread((long)batch * heads * tmax, _attentionGroup), q, k, v, output, lengths, batch, tmax, heads, headDim, 1f / MathF.Sqrt(headDim));

    /// <summary>destination[r] = source[rows[r]] for <paramref name="count"/> rows of width d.</summary>
    public void GatherRows(ArrayView<float> source, ArrayView<int> rows, ArrayView<float> destination, int count, int d) =>
        (_gatherRows ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>(DeviceKernels.GatherRows))(
            Spread((long)count * d, _group), source, rows, destination, d, count * d);

    /// <summary>Groups for <paramref name="count"/> work items: one item per thread, at most a full device.</summary>
    private KernelConfig Spread(long count, int group)
    {
        Prepare();
        return new((int)Math.Clamp((count + group - 1) / group, 1, _maxGroups), group);
    }

    /// <summary>
    /// Counts the launch and makes the accelerator current on the calling thread: a model may be
    /// called from any thread, and a CUDA launch runs in the thread's current context.
    /// </summary>
    private void Prepare()
    {
        Launches++;
        Accelerator.Bind();
    }

    /// <summary>One warp per row.</summary>
    private KernelConfig PerRow(int rows)
    {
        Prepare();
        int warps = _group / Accelerator.WarpSize;
        return new(Math.Clamp((rows + warps - 1) / warps, 1, _maxGroups), _group);
    }
}
