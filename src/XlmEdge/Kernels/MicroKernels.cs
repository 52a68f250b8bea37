using System.Runtime.CompilerServices;

namespace XlmEdge.Kernels;

/// <summary>
/// The register-tiled inner loops of every matrix product (<see cref="Linear"/>'s GEMM, <see cref="Attention"/>'s
/// scores and weighted sums): up to <see cref="Rows"/> rows of one operand, read one value at a time and
/// broadcast, against a k-major panel of the other, [k][2·lanes], read a vector at a time. 12
/// accumulators, two panel loads and six broadcasts feed 12 FMAs per k step on AVX2.
/// </summary>
internal static class MicroKernels
{
    /// <summary>Rows of the broadcast operand per call.</summary>
    internal const int Rows = 6;

    /// <summary>
    /// yt[r, 0 .. 2·lanes) (+)= Σ_k w[r, k] · panel[k, 0 .. 2·lanes) for r &lt; rows (≤ 6). Rows past
    /// <paramref name="rows"/> alias the last real row so the loop has no branches; their sums are dropped.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void Kernel6x2<TS, TVec>(ref float w, int wStride, int rows, ref float panel, int kc, ref float yt, int ytStride, bool accumulate)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        int n = TS.Count, width = 2 * n;
        ref float w0 = ref w;
        ref float w1 = ref Unsafe.Add(ref w, Math.Min(1, rows - 1) * wStride);
        ref float w2 = ref Unsafe.Add(ref w, Math.Min(2, rows - 1) * wStride);
        ref float w3 = ref Unsafe.Add(ref w, Math.Min(3, rows - 1) * wStride);
        ref float w4 = ref Unsafe.Add(ref w, Math.Min(4, rows - 1) * wStride);
        ref float w5 = ref Unsafe.Add(ref w, Math.Min(5, rows - 1) * wStride);
        TVec c00 = TS.Zero, c01 = TS.Zero, c10 = TS.Zero, c11 = TS.Zero, c20 = TS.Zero, c21 = TS.Zero;
        TVec c30 = TS.Zero, c31 = TS.Zero, c40 = TS.Zero, c41 = TS.Zero, c50 = TS.Zero, c51 = TS.Zero;
        ref float x = ref panel;
        int k = 0;
        // Two k steps per iteration halve the loop overhead next to the 12 FMAs per step.
        for (; k < kc - 1; k += 2)
        {
            Step(ref x, ref Unsafe.Add(ref w0, k), ref Unsafe.Add(ref w1, k), ref Unsafe.Add(ref w2, k), ref Unsafe.Add(ref w3, k), ref Unsafe.Add(ref w4, k), ref Unsafe.Add(ref w5, k));
            Step(ref Unsafe.Add(ref x, width), ref Unsafe.Add(ref w0, k + 1), ref Unsafe.Add(ref w1, k + 1), ref Unsafe.Add(ref w2, k + 1), ref Unsafe.Add(ref w3, k + 1), ref Unsafe.Add(ref w4, k + 1), ref Unsafe.Add(ref w5, k + 1));
            x = ref Unsafe.Add(ref x, 2 * width);
        }
        if (k < kc)
            Step(ref x, ref Unsafe.Add(ref w0, k), ref Unsafe.Add(ref w1, k), ref Unsafe.Add(ref w2, k), ref Unsafe.Add(ref w3, k), ref Unsafe.Add(ref w4, k), ref Unsafe.Add(ref w5, k));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void Step(ref float xk, ref float a0, ref float a1, ref float a2, ref float a3, ref float a4, ref float a5)
        {
            var b0 = TS.Load(in xk);
            var b1 = TS.Load(in Unsafe.Add(ref xk, n));
            var a = TS.Broadcast(a0);
            c00 = TS.MultiplyAdd(a, b0, c00);
            c01 = TS.MultiplyAdd(a, b1, c01);
            a = TS.Broadcast(a1);
            c10 = TS.MultiplyAdd(a, b0, c10);
            c11 = TS.MultiplyAdd(a, b1, c11);
            a = TS.Broadcast(a2);
            c20 = TS.MultiplyAdd(a, b0, c20);
            c21 = TS.MultiplyAdd(a, b1, c21);
            a = TS.Broadcast(a3);
            c30 = TS.MultiplyAdd(a, b0, c30);
            c31 = TS.MultiplyAdd(a, b1, c31);
            a = TS.Broadcast(a4);
            c40 = TS.MultiplyAdd(a, b0, c40);
            c41 = TS.MultiplyAdd(a, b1, c41);
            a = TS.Broadcast(a5);
            c50 = TS.MultiplyAdd(a, b0, c50);
            c51 = TS.MultiplyAdd(a, b1, c51);
        }

        StorePair<TS, TVec>(ref yt, c00, c01, accumulate);
        if (rows > 1) StorePair<TS, TVec>(ref Unsafe.Add(ref yt, ytStride), c10, c11, accumulate);
        if (rows > 2) StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 2 * ytStride), c20, c21, accumulate);
        if (rows > 3) StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 3 * ytStride), c30, c31, accumulate);
        if (rows > 4) StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 4 * ytStride), c40, c41, accumulate);
        if (rows > 5) StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 5 * ytStride), c50, c51, accumulate);
    }

    /// <summary>As <see cref="Kernel6x2"/> for a last panel of at most one vector of tokens.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void Kernel6x1<TS, TVec>(ref float w, int wStride, int rows, ref float panel, int kc, ref float yt, int ytStride, bool accumulate)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        int width = 2 * TS.Count;
        ref float w0 = ref w;
        ref float w1 = ref Unsafe.Add(ref w, Math.Min(1, rows - 1) * wStride);
        ref float w2 = ref Unsafe.Add(ref w, Math.Min(2, rows - 1) * wStride);
        ref float w3 = ref Unsafe.Add(ref w, Math.Min(3, rows - 1) * wStride);
        ref float w4 = ref Unsafe.Add(ref w, Math.Min(4, rows - 1) * wStride);
        ref float w5 = ref Unsafe.Add(ref w, Math.Min(5, rows - 1) * wStride);
        TVec c0 = TS.Zero, c1 = TS.Zero, c2 = TS.Zero, c3 = TS.Zero, c4 = TS.Zero, c5 = TS.Zero;
        ref float x = ref panel;
        for (int k = 0; k < kc; k++)
        {
            var b = TS.Load(in x);
            x = ref Unsafe.Add(ref x, width);
            c0 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref w0, k)), b, c0);
            c1 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref w1, k)), b, c1);
            c2 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref w2, k)), b, c2);
            c3 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref w3, k)), b, c3);
            c4 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref w4, k)), b, c4);
            c5 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref w5, k)), b, c5);
        }
        Store<TS, TVec>(ref yt, c0, accumulate);
        if (rows > 1) Store<TS, TVec>(ref Unsafe.Add(ref yt, ytStride), c1, accumulate);
        if (rows > 2) Store<TS, TVec>(ref Unsafe.Add(ref yt, 2 * ytStride), c2, accumulate);
        if (rows > 3) Store<TS, TVec>(ref Unsafe.Add(ref yt, 3 * ytStride), c3, accumulate);
        if (rows > 4) Store<TS, TVec>(ref Unsafe.Add(ref yt, 4 * ytStride), c4, accumulate);
        if (rows > 5) Store<TS, TVec>(ref Unsafe.Add(ref yt, 5 * ytStride), c5, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StorePair<TS, TVec>(ref float destination, TVec lower, TVec upper, bool accumulate) where TS : struct, ISimd<TVec> where TVec : struct
    {
        Store<TS, TVec>(ref destination, lower, accumulate);
        Store<TS, TVec>(ref Unsafe.Add(ref destination, TS.Count), upper, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store<TS, TVec>(ref float destination, TVec value, bool accumulate) where TS : struct, ISimd<TVec> where TVec : struct
    {
        if (accumulate)
            value = TS.Add(value, TS.Load(in destination));
        TS.Store(value, ref destination);
    }
}
