using System.Runtime.CompilerServices;

namespace XlmEdge.Kernels;

/// <summary>
/// The register-tiled inner loops of every matrix product (<see cref="Linear"/>'s GEMM, <see cref="Attention"/>'s
/// scores and weighted sums): up to <see cref="Tiling{TS, TVec}.Rows"/> rows of one operand, read one value at
/// a time and broadcast, against a k-major panel of the other, [k][2·lanes], read a vector at a time. With
/// AVX2 (16 registers) 6 rows: 12 accumulators, two panel loads and six broadcasts feed 12 FMAs per k step.
/// With AVX-512 (32 registers) 12 rows: 24 accumulators, two loads and twelve broadcasts per 24 FMAs.
/// </summary>
internal static class MicroKernels
{
    /// <summary>
    /// yt[r, 0 .. 2·lanes) (+)= Σ_k w[r, k] · panel[k, 0 .. 2·lanes) for r &lt; <paramref name="rows"/>
    /// (at most <see cref="Tiling{TS, TVec}.Rows"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Kernel<TS, TVec>(ref float w, int wStride, int rows, ref float panel, int kc, ref float yt, int ytStride, bool accumulate)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        if (TS.Count >= 16 && rows == 12)
        {
            Kernel12x2<TS, TVec>(ref w, wStride, ref panel, kc, ref yt, ytStride, accumulate);
            return;
        }
        // A partial group on the 12-row path (the last of a matrix) runs as up to two groups of 6.
        Kernel6x2<TS, TVec>(ref w, wStride, Math.Min(rows, 6), ref panel, kc, ref yt, ytStride, accumulate);
        if (rows > 6)
            Kernel6x2<TS, TVec>(ref Unsafe.Add(ref w, 6 * wStride), wStride, rows - 6, ref panel, kc, ref Unsafe.Add(ref yt, 6 * ytStride), ytStride, accumulate);
    }

    /// <summary>As <see cref="Kernel{TS, TVec}"/> for a last panel of at most one vector of tokens.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void NarrowKernel<TS, TVec>(ref float w, int wStride, int rows, ref float panel, int kc, ref float yt, int ytStride, bool accumulate)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        if (TS.Count >= 16 && rows == 12)
        {
            Kernel12x1<TS, TVec>(ref w, wStride, ref panel, kc, ref yt, ytStride, accumulate);
            return;
        }
        Kernel6x1<TS, TVec>(ref w, wStride, Math.Min(rows, 6), ref panel, kc, ref yt, ytStride, accumulate);
        if (rows > 6)
            Kernel6x1<TS, TVec>(ref Unsafe.Add(ref w, 6 * wStride), wStride, rows - 6, ref panel, kc, ref Unsafe.Add(ref yt, 6 * ytStride), ytStride, accumulate);
    }

    /// <summary>Twelve full rows against a panel of two vectors (the 512-bit path).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Kernel12x2<TS, TVec>(ref float w, nint wStride, ref float panel, int kc, ref float yt, int ytStride, bool accumulate)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        nint n = TS.Count, width = 2 * n, s = wStride, s2 = 2 * wStride;
        // Four bases three rows apart: every row is a base plus 0, s or 2s, so the loop needs seven
        // general registers for W instead of twelve (x64 has sixteen).
        ref float g0 = ref w;
        ref float g1 = ref Unsafe.Add(ref w, 3 * s);
        ref float g2 = ref Unsafe.Add(ref w, 6 * s);
        ref float g3 = ref Unsafe.Add(ref w, 9 * s);
        TVec c000 = TS.Zero, c001 = TS.Zero, c010 = TS.Zero, c011 = TS.Zero, c020 = TS.Zero, c021 = TS.Zero;
        TVec c030 = TS.Zero, c031 = TS.Zero, c040 = TS.Zero, c041 = TS.Zero, c050 = TS.Zero, c051 = TS.Zero;
        TVec c060 = TS.Zero, c061 = TS.Zero, c070 = TS.Zero, c071 = TS.Zero, c080 = TS.Zero, c081 = TS.Zero;
        TVec c090 = TS.Zero, c091 = TS.Zero, c100 = TS.Zero, c101 = TS.Zero, c110 = TS.Zero, c111 = TS.Zero;
        TVec a, b0, b1;
        ref float x = ref panel;
        for (int k = 0; k < kc; k++)
        {
            b0 = TS.Load(in x);
            b1 = TS.Load(in Unsafe.Add(ref x, n));
            a = TS.Broadcast(g0);
            c000 = TS.MultiplyAdd(a, b0, c000);
            c001 = TS.MultiplyAdd(a, b1, c001);
            a = TS.Broadcast(Unsafe.Add(ref g0, s));
            c010 = TS.MultiplyAdd(a, b0, c010);
            c011 = TS.MultiplyAdd(a, b1, c011);
            a = TS.Broadcast(Unsafe.Add(ref g0, s2));
            c020 = TS.MultiplyAdd(a, b0, c020);
            c021 = TS.MultiplyAdd(a, b1, c021);
            a = TS.Broadcast(g1);
            c030 = TS.MultiplyAdd(a, b0, c030);
            c031 = TS.MultiplyAdd(a, b1, c031);
            a = TS.Broadcast(Unsafe.Add(ref g1, s));
            c040 = TS.MultiplyAdd(a, b0, c040);
            c041 = TS.MultiplyAdd(a, b1, c041);
            a = TS.Broadcast(Unsafe.Add(ref g1, s2));
            c050 = TS.MultiplyAdd(a, b0, c050);
            c051 = TS.MultiplyAdd(a, b1, c051);
            a = TS.Broadcast(g2);
            c060 = TS.MultiplyAdd(a, b0, c060);
            c061 = TS.MultiplyAdd(a, b1, c061);
            a = TS.Broadcast(Unsafe.Add(ref g2, s));
            c070 = TS.MultiplyAdd(a, b0, c070);
            c071 = TS.MultiplyAdd(a, b1, c071);
            a = TS.Broadcast(Unsafe.Add(ref g2, s2));
            c080 = TS.MultiplyAdd(a, b0, c080);
            c081 = TS.MultiplyAdd(a, b1, c081);
            a = TS.Broadcast(g3);
            c090 = TS.MultiplyAdd(a, b0, c090);
            c091 = TS.MultiplyAdd(a, b1, c091);
            a = TS.Broadcast(Unsafe.Add(ref g3, s));
            c100 = TS.MultiplyAdd(a, b0, c100);
            c101 = TS.MultiplyAdd(a, b1, c101);
            a = TS.Broadcast(Unsafe.Add(ref g3, s2));
            c110 = TS.MultiplyAdd(a, b0, c110);
            c111 = TS.MultiplyAdd(a, b1, c111);
            x = ref Unsafe.Add(ref x, width);
            g0 = ref Unsafe.Add(ref g0, 1);
            g1 = ref Unsafe.Add(ref g1, 1);
            g2 = ref Unsafe.Add(ref g2, 1);
            g3 = ref Unsafe.Add(ref g3, 1);
        }
        StorePair<TS, TVec>(ref yt, c000, c001, accumulate);
        StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 1 * ytStride), c010, c011, accumulate);
        StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 2 * ytStride), c020, c021, accumulate);
        StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 3 * ytStride), c030, c031, accumulate);
        StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 4 * ytStride), c040, c041, accumulate);
        StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 5 * ytStride), c050, c051, accumulate);
        StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 6 * ytStride), c060, c061, accumulate);
        StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 7 * ytStride), c070, c071, accumulate);
        StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 8 * ytStride), c080, c081, accumulate);
        StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 9 * ytStride), c090, c091, accumulate);
        StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 10 * ytStride), c100, c101, accumulate);
        StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 11 * ytStride), c110, c111, accumulate);
    }

    /// <summary>Twelve full rows against a panel of one vector.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Kernel12x1<TS, TVec>(ref float w, nint wStride, ref float panel, int kc, ref float yt, int ytStride, bool accumulate)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        nint n = TS.Count, width = 2 * n, s = wStride, s2 = 2 * wStride;
        // Four bases three rows apart: every row is a base plus 0, s or 2s, so the loop needs seven
        // general registers for W instead of twelve (x64 has sixteen).
        ref float g0 = ref w;
        ref float g1 = ref Unsafe.Add(ref w, 3 * s);
        ref float g2 = ref Unsafe.Add(ref w, 6 * s);
        ref float g3 = ref Unsafe.Add(ref w, 9 * s);
        TVec c000 = TS.Zero, c010 = TS.Zero, c020 = TS.Zero, c030 = TS.Zero, c040 = TS.Zero, c050 = TS.Zero;
        TVec c060 = TS.Zero, c070 = TS.Zero, c080 = TS.Zero, c090 = TS.Zero, c100 = TS.Zero, c110 = TS.Zero;
        TVec a, b0;
        ref float x = ref panel;
        for (int k = 0; k < kc; k++)
        {
            b0 = TS.Load(in x);
            a = TS.Broadcast(g0);
            c000 = TS.MultiplyAdd(a, b0, c000);
            a = TS.Broadcast(Unsafe.Add(ref g0, s));
            c010 = TS.MultiplyAdd(a, b0, c010);
            a = TS.Broadcast(Unsafe.Add(ref g0, s2));
            c020 = TS.MultiplyAdd(a, b0, c020);
            a = TS.Broadcast(g1);
            c030 = TS.MultiplyAdd(a, b0, c030);
            a = TS.Broadcast(Unsafe.Add(ref g1, s));
            c040 = TS.MultiplyAdd(a, b0, c040);
            a = TS.Broadcast(Unsafe.Add(ref g1, s2));
            c050 = TS.MultiplyAdd(a, b0, c050);
            a = TS.Broadcast(g2);
            c060 = TS.MultiplyAdd(a, b0, c060);
            a = TS.Broadcast(Unsafe.Add(ref g2, s));
            c070 = TS.MultiplyAdd(a, b0, c070);
            a = TS.Broadcast(Unsafe.Add(ref g2, s2));
            c080 = TS.MultiplyAdd(a, b0, c080);
            a = TS.Broadcast(g3);
            c090 = TS.MultiplyAdd(a, b0, c090);
            a = TS.Broadcast(Unsafe.Add(ref g3, s));
            c100 = TS.MultiplyAdd(a, b0, c100);
            a = TS.Broadcast(Unsafe.Add(ref g3, s2));
            c110 = TS.MultiplyAdd(a, b0, c110);
            x = ref Unsafe.Add(ref x, width);
            g0 = ref Unsafe.Add(ref g0, 1);
            g1 = ref Unsafe.Add(ref g1, 1);
            g2 = ref Unsafe.Add(ref g2, 1);
            g3 = ref Unsafe.Add(ref g3, 1);
        }
        Store<TS, TVec>(ref yt, c000, accumulate);
        Store<TS, TVec>(ref Unsafe.Add(ref yt, 1 * ytStride), c010, accumulate);
        Store<TS, TVec>(ref Unsafe.Add(ref yt, 2 * ytStride), c020, accumulate);
        Store<TS, TVec>(ref Unsafe.Add(ref yt, 3 * ytStride), c030, accumulate);
        Store<TS, TVec>(ref Unsafe.Add(ref yt, 4 * ytStride), c040, accumulate);
        Store<TS, TVec>(ref Unsafe.Add(ref yt, 5 * ytStride), c050, accumulate);
        Store<TS, TVec>(ref Unsafe.Add(ref yt, 6 * ytStride), c060, accumulate);
        Store<TS, TVec>(ref Unsafe.Add(ref yt, 7 * ytStride), c070, accumulate);
        Store<TS, TVec>(ref Unsafe.Add(ref yt, 8 * ytStride), c080, accumulate);
        Store<TS, TVec>(ref Unsafe.Add(ref yt, 9 * ytStride), c090, accumulate);
        Store<TS, TVec>(ref Unsafe.Add(ref yt, 10 * ytStride), c100, accumulate);
        Store<TS, TVec>(ref Unsafe.Add(ref yt, 11 * ytStride), c110, accumulate);
    }

    /// <summary>
    /// Up to six rows against a panel of two vectors. Rows past <paramref name="rows"/> alias the last real
    /// row so the loop has no branches; their sums are dropped.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Kernel6x2<TS, TVec>(ref float w, int wStride, int rows, ref float panel, int kc, ref float yt, int ytStride, bool accumulate)
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
    private static void Kernel6x1<TS, TVec>(ref float w, int wStride, int rows, ref float panel, int kc, ref float yt, int ytStride, bool accumulate)
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
