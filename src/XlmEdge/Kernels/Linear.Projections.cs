using System.Runtime.Intrinsics;

namespace XlmEdge.Kernels;

/// <summary>One of several projections of the same input: y = x·W^T + bias (W is [N, K]).</summary>
internal readonly ref struct Projection<TW>(ReadOnlySpan<TW> w, ReadOnlySpan<float> bias, Span<float> y) where TW : unmanaged
{
    public ReadOnlySpan<TW> W { get; } = w;
    public ReadOnlySpan<float> Bias { get; } = bias;
    public Span<float> Y { get; } = y;
}

internal static partial class Linear
{
    /// <summary>
    /// Three projections of one input with matrices of one shape (the attention's q, k and v): x is packed
    /// once, and the three GEMMs' work items run as one pool call, so no thread idles at the end of the
    /// first two. Each result is bit for bit what <see cref="Forward(WorkerPool, ReadOnlySpan{float}, int, int, ReadOnlySpan{Half}, int, ReadOnlySpan{float}, Span{float}, Activation)"/> gives.
    /// </summary>
    public static void Forward<TW>(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, int N, Projection<TW> a, Projection<TW> b, Projection<TW> c)
        where TW : unmanaged =>
        Forward(CpuFeatures.Selected, pool, x, T, K, N, a, b, c);

    internal static void Forward<TW>(SimdPath path, WorkerPool pool, ReadOnlySpan<float> x, int T, int K, int N, Projection<TW> a, Projection<TW> b, Projection<TW> c)
        where TW : unmanaged
    {
        if (typeof(TW) != typeof(Half) && typeof(TW) != typeof(float))
            throw new NotSupportedException($"Weights of {typeof(TW).Name} are not supported; fp16 or fp32 only.");
        Validate(x, T, K, a.W.Length, N, a.Bias, a.Y);
        Validate(x, T, K, b.W.Length, N, b.Bias, b.Y);
        Validate(x, T, K, c.W.Length, N, c.Bias, c.Y);
        switch (path)
        {
            case SimdPath.Vector512 when T >= GemvTokens: RunThree<Simd512, Vector512<float>, TW>(pool, x, T, K, N, a, b, c); break;
            case SimdPath.Vector256 when T >= GemvTokens: RunThree<Simd256, Vector256<float>, TW>(pool, x, T, K, N, a, b, c); break;
            case SimdPath.Vector128 when T >= GemvTokens: RunThree<Simd128, Vector128<float>, TW>(pool, x, T, K, N, a, b, c); break;
            default:
                // Few tokens (GEMV: nothing packed to share) or no SIMD: one call each.
                Dispatch(path, pool, x, T, K, a.W, N, a.Bias, a.Y, Activation.None);
                Dispatch(path, pool, x, T, K, b.W, N, b.Bias, b.Y, Activation.None);
                Dispatch(path, pool, x, T, K, c.W, N, c.Bias, c.Y, Activation.None);
                break;
        }
    }

    private static void RunThree<TS, TVec, TW>(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, int N, Projection<TW> a, Projection<TW> b, Projection<TW> c)
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged
    {
        int panelWidth = 2 * TS.Count;
        int panels = (T + panelWidth - 1) / panelWidth;
        if (typeof(TW) != typeof(Half))
        {
            RunThree<TS, TVec, TW, ScaledHalves>(pool, Pack<TS, TVec>(pool, x, T, K, pairOrder: false, scale: 1f), T, K, N, a, b, c, panels);
            return;
        }
        // The same choice as the single call's (see Run): x times 2^112 unless that could overflow.
        var packed = Pack<TS, TVec>(pool, x, T, K, pairOrder: true, HalfBits.Scale, out float max);
        if (max < UnscaledLimit)
            RunThree<TS, TVec, TW, UnscaledHalves>(pool, packed, T, K, N, a, b, c, panels);
        else
            RunThree<TS, TVec, TW, ScaledHalves>(pool, Pack<TS, TVec>(pool, x, T, K, pairOrder: true, 1f), T, K, N, a, b, c, panels);
    }

    private static void RunThree<TS, TVec, TW, TH>(WorkerPool pool, ReadOnlySpan<float> packed, int T, int K, int N, Projection<TW> a, Projection<TW> b, Projection<TW> c, int panels)
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged where TH : struct, IHalfWidening
    {
        var job = new ThreeGemms<TS, TVec, TW, TH>
        {
            First = Gemm<TS, TVec, TW, TH>(pool, packed, T, K, a.W, N, a.Bias, a.Y, Activation.None, panels),
            Second = Gemm<TS, TVec, TW, TH>(pool, packed, T, K, b.W, N, b.Bias, b.Y, Activation.None, panels),
            Third = Gemm<TS, TVec, TW, TH>(pool, packed, T, K, c.W, N, c.Bias, c.Y, Activation.None, panels),
        };
#if NET9_0_OR_GREATER
        pool.For(3 * job.First.Items, ref job);
#else
        // net8.0 has no ref struct type arguments: the job cannot reach the pool and runs on this thread.
        for (int item = 0, items = 3 * job.First.Items; item < items; item++)
            job.Execute(item, 0);
#endif
    }

    /// <summary>Three GEMM jobs of one shape as one: item i of the whole is item i mod Items of job i / Items.</summary>
    private ref struct ThreeGemms<TS, TVec, TW, TH> : IParallelJob
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged where TH : struct, IHalfWidening
    {
        public GemmJob<TS, TVec, TW, TH> First, Second, Third;

        public readonly void Execute(int index, int worker)
        {
            int items = First.Items;
            if (index < items)
                First.Execute(index, worker);
            else if (index < 2 * items)
                Second.Execute(index - items, worker);
            else
                Third.Execute(index - 2 * items, worker);
        }
    }
}
