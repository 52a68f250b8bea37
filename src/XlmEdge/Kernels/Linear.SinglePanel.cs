using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace XlmEdge.Kernels;

internal static partial class Linear
{
    /// <summary>W rows per single-panel kernel call: 12 accumulators at two vectors of tokens.</summary>
    private const int SinglePanelRows = 6;

    /// <summary>Whether a single-panel kernel covers two vectors of tokens or one; fixed at JIT time.</summary>
    private interface IPanelWidth
    {
        static abstract bool Two { get; }
    }

    private readonly struct TwoVectors : IPanelWidth
    {
        public static bool Two => true;
    }

    private readonly struct OneVector : IPanelWidth
    {
        public static bool Two => false;
    }

    /// <summary>
    /// One token panel with fp16 weights (T ≤ 2·lanes: 16 tokens with AVX2, the fill-mask sizes). Each
    /// widened W value serves only that panel's tokens, so widening is not shared between panels and
    /// costs about a fifth of the FMAs; run as a separate pass before each kernel call it also cannot
    /// overlap them. This kernel takes a group of up to <see cref="SinglePanelRows"/> W rows over the whole of K:
    /// while it runs the FMAs of one K-slice from one half of a double buffer, it widens the next slice
    /// into the other half (shifts and stores issue beside the FMAs), and its accumulators stay in
    /// registers across the slices instead of being stored and reloaded per slice.
    /// </summary>
    /// <param name="w">Row 0 of the group at k = 0.</param>
    /// <param name="K">Row length and stride of W.</param>
    /// <param name="kSlice">K values per slice (<see cref="Tiling{TS, TVec}.KSlice"/>), also the buffers' row stride.</param>
    /// <param name="rows">Rows in the group (at most <see cref="SinglePanelRows"/>); the sums of missing rows are not stored.</param>
    /// <param name="panel">The packed token panel, [K][2·lanes].</param>
    /// <param name="buffers">2 · <see cref="SinglePanelRows"/> · <paramref name="kSlice"/> floats: the double buffer.</param>
    /// <param name="yt">Receives the group's sums, row r at r · <paramref name="ytStride"/>, tokens along lanes.</param>
    /// <param name="ytStride">Floats between rows of <paramref name="yt"/>.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SinglePanelKernel<TS, TVec, TH, TWidth>(ref Half w, int K, int kSlice, int rows, ref float panel, ref float buffers, ref float yt, int ytStride)
        where TS : struct, ISimd<TVec> where TVec : struct where TH : struct, IHalfWidening where TWidth : struct, IPanelWidth
    {
        int n = TS.Count, chunk = 2 * n, width = 2 * n;
        const int Rows = SinglePanelRows;
        int slices = (K + kSlice - 1) / kSlice;
        nint s1 = kSlice, s2 = 2 * s1, s3 = 3 * s1, s4 = 4 * s1, s5 = 5 * s1;
        // Buffer rows sit at fixed offsets from one base (fewer live pointers in the loop); rows past
        // the group's last are zeros, so their sums are finite and simply not stored.
        if (rows < Rows)
        {
            for (int b = 0; b < 2; b++)
                MemoryMarshal.CreateSpan(ref Unsafe.Add(ref buffers, (b * Rows + rows) * kSlice), (Rows - rows) * kSlice).Clear();
        }
        WidenSlice<TS, TVec, TH>(ref w, K, rows, 0, Math.Min(kSlice, K), ref buffers, kSlice, 0);

        TVec c00 = TS.Zero, c01 = TS.Zero, c10 = TS.Zero, c11 = TS.Zero, c20 = TS.Zero, c21 = TS.Zero;
        TVec c30 = TS.Zero, c31 = TS.Zero, c40 = TS.Zero, c41 = TS.Zero, c50 = TS.Zero, c51 = TS.Zero;
        for (int s = 0; s < slices; s++)
        {
            int k0 = s * kSlice, kc = Math.Min(kSlice, K - k0);
            int next = k0 + kSlice, kcNext = Math.Max(0, Math.Min(kSlice, K - next));
            ref float current = ref Unsafe.Add(ref buffers, (s & 1) * Rows * kSlice);
            ref float following = ref Unsafe.Add(ref buffers, ((s + 1) & 1) * Rows * kSlice);
            ref float x = ref Unsafe.Add(ref panel, (nint)k0 * width);

            // The next slice's whole chunks, one per two k steps, row after row; the rest (if the slice
            // is longer than the loop has iterations) and its sub-chunk tail are widened after the loop.
            int perRow = kcNext / chunk, left = rows * perRow, inRow = perRow;
            nint source = next;
            int destination = 0;
            int k = 0;
            for (; k < kc - 1; k += 2)
            {
                Step(ref x, ref Unsafe.Add(ref current, k));
                Step(ref Unsafe.Add(ref x, width), ref Unsafe.Add(ref current, k + 1));
                x = ref Unsafe.Add(ref x, 2 * width);
                if (left > 0)
                    WidenNextChunk<TS, TVec, TH>(ref w, ref following, ref source, ref destination, ref left, ref inRow, perRow, K, kSlice);
            }
            if (k < kc)
                Step(ref x, ref Unsafe.Add(ref current, k));
            while (left > 0)
                WidenNextChunk<TS, TVec, TH>(ref w, ref following, ref source, ref destination, ref left, ref inRow, perRow, K, kSlice);
            if (kcNext > perRow * chunk)
                WidenSlice<TS, TVec, TH>(ref w, K, rows, next + perRow * chunk, kcNext - perRow * chunk, ref following, kSlice, perRow * chunk);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void Step(ref float xk, ref float wk)
        {
            var b0 = TS.Load(in xk);
            var a = TS.Broadcast(wk);
            c00 = TS.MultiplyAdd(a, b0, c00);
            if (TWidth.Two)
            {
                var b1 = TS.Load(in Unsafe.Add(ref xk, n));
                c01 = TS.MultiplyAdd(a, b1, c01);
                a = TS.Broadcast(Unsafe.Add(ref wk, s1));
                c10 = TS.MultiplyAdd(a, b0, c10);
                c11 = TS.MultiplyAdd(a, b1, c11);
                a = TS.Broadcast(Unsafe.Add(ref wk, s2));
                c20 = TS.MultiplyAdd(a, b0, c20);
                c21 = TS.MultiplyAdd(a, b1, c21);
                a = TS.Broadcast(Unsafe.Add(ref wk, s3));
                c30 = TS.MultiplyAdd(a, b0, c30);
                c31 = TS.MultiplyAdd(a, b1, c31);
                a = TS.Broadcast(Unsafe.Add(ref wk, s4));
                c40 = TS.MultiplyAdd(a, b0, c40);
                c41 = TS.MultiplyAdd(a, b1, c41);
                a = TS.Broadcast(Unsafe.Add(ref wk, s5));
                c50 = TS.MultiplyAdd(a, b0, c50);
                c51 = TS.MultiplyAdd(a, b1, c51);
            }
            else
            {
                c10 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref wk, s1)), b0, c10);
                c20 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref wk, s2)), b0, c20);
                c30 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref wk, s3)), b0, c30);
                c40 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref wk, s4)), b0, c40);
                c50 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref wk, s5)), b0, c50);
            }
        }

        if (TWidth.Two)
        {
            MicroKernels.StorePair<TS, TVec>(ref yt, c00, c01, accumulate: false);
            if (rows > 1) MicroKernels.StorePair<TS, TVec>(ref Unsafe.Add(ref yt, ytStride), c10, c11, accumulate: false);
            if (rows > 2) MicroKernels.StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 2 * ytStride), c20, c21, accumulate: false);
            if (rows > 3) MicroKernels.StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 3 * ytStride), c30, c31, accumulate: false);
            if (rows > 4) MicroKernels.StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 4 * ytStride), c40, c41, accumulate: false);
            if (rows > 5) MicroKernels.StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 5 * ytStride), c50, c51, accumulate: false);
        }
        else
        {
            TS.Store(c00, ref yt);
            if (rows > 1) TS.Store(c10, ref Unsafe.Add(ref yt, ytStride));
            if (rows > 2) TS.Store(c20, ref Unsafe.Add(ref yt, 2 * ytStride));
            if (rows > 3) TS.Store(c30, ref Unsafe.Add(ref yt, 3 * ytStride));
            if (rows > 4) TS.Store(c40, ref Unsafe.Add(ref yt, 4 * ytStride));
            if (rows > 5) TS.Store(c50, ref Unsafe.Add(ref yt, 5 * ytStride));
        }
    }

    /// <summary>
    /// Widens the chunk at w[<paramref name="source"/>] into following[<paramref name="destination"/>]
    /// and moves both to the next chunk of the slice, row after row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WidenNextChunk<TS, TVec, TH>(ref Half w, ref float following, ref nint source, ref int destination, ref int left, ref int inRow, int perRow, int K, int kSlice)
        where TS : struct, ISimd<TVec> where TVec : struct where TH : struct, IHalfWidening
    {
        int chunk = 2 * TS.Count;
        WidenChunk<TS, TVec, TH>(ref Unsafe.Add(ref w, source), ref Unsafe.Add(ref following, destination));
        left--;
        source += chunk;
        destination += chunk;
        if (--inRow == 0)
        {
            inRow = perRow;
            source += K - perRow * chunk;
            destination += kSlice - perRow * chunk;
        }
    }

    /// <summary>One chunk of 2·lanes fp16 values to fp32 in pair order (see <see cref="CopyRow"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WidenChunk<TS, TVec, TH>(ref Half source, ref float destination)
        where TS : struct, ISimd<TVec> where TVec : struct where TH : struct, IHalfWidening
    {
        LoadPairs<TS, TVec, TH>(in source, out var even, out var odd);
        TS.Store(even, ref destination);
        TS.Store(odd, ref Unsafe.Add(ref destination, TS.Count));
    }

    /// <summary>
    /// Widens W[r, k0 .. k0+count) of rows r &lt; <paramref name="rows"/> into buffer row r (stride <paramref name="stride"/>)
    /// from <paramref name="offset"/> (pair order). Not inlined, so that the vector widening is inlined here:
    /// inside the GEMM job's large body RyuJIT left it as a call per 16 values (3.5 % of a T = 128 pass).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WidenSlice<TS, TVec, TH>(ref Half w, int K, int rows, int k0, int count, ref float buffer, int stride, int offset)
        where TS : struct, ISimd<TVec> where TVec : struct where TH : struct, IHalfWidening
    {
        for (int r = 0; r < rows; r++)
            WidenPairs<TS, TVec, TH>(ref Unsafe.Add(ref w, (nint)r * K + k0), count, ref Unsafe.Add(ref buffer, r * stride + offset));
    }
}
