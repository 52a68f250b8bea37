using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace XlmEdge.Kernels;

/// <summary>How a panel kernel reads a k step of W: two vectors of rows (lanes·q.. and 16 + lanes·q..).</summary>
internal interface IPanelSource<TW> where TW : unmanaged
{
    /// <summary>Elements of W between sub-panel q's data and sub-panel 0's in a k step.</summary>
    static abstract int Offset(int q, int lanes);

    static abstract void Load<TS, TVec>(ref TW source, out TVec lower, out TVec upper) where TS : struct, ISimd<TVec> where TVec : struct;

    /// <summary>Whether W streams from memory (the file's panels), so that the kernel prefetches ahead of it.</summary>
    static abstract bool Streams { get; }
}

/// <summary>
/// fp16 panels widened in registers, in pair order (the file's order), scaled or not. Panel matrices are
/// finite (checked at load), so the widening skips the fix-up of infinity and NaN (<see cref="ISimd{TVec}.LoadFiniteHalfPairs"/>).
/// </summary>
internal readonly struct HalfPanel<TH> : IPanelSource<Half> where TH : struct, IHalfWidening
{
    public static int Offset(int q, int lanes) => 2 * lanes * q;

    public static bool Streams => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load<TS, TVec>(ref Half source, out TVec lower, out TVec upper) where TS : struct, ISimd<TVec> where TVec : struct
    {
        TS.LoadFiniteHalfPairs(in source, out lower, out upper);
        if (!TH.Unscaled)
        {
            var scale = TS.Broadcast(HalfBits.Scale);
            lower = TS.Multiply(lower, scale);
            upper = TS.Multiply(upper, scale);
        }
    }
}

/// <summary>fp32 panels (an f32 file), rows in order.</summary>
internal readonly struct SinglePanel : IPanelSource<float>
{
    public static int Offset(int q, int lanes) => lanes * q;

    public static bool Streams => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load<TS, TVec>(ref float source, out TVec lower, out TVec upper) where TS : struct, ISimd<TVec> where TVec : struct
    {
        lower = TS.Load(in source);
        upper = TS.Load(in Unsafe.Add(ref source, PanelLayout.Rows / 2));
    }
}

/// <summary>Tokens per panel-kernel call, fixed at JIT time.</summary>
internal interface ITokenBlock
{
    static abstract int Count { get; }
}

internal readonly struct Tokens1 : ITokenBlock { public static int Count => 1; }
internal readonly struct Tokens2 : ITokenBlock { public static int Count => 2; }
internal readonly struct Tokens4 : ITokenBlock { public static int Count => 4; }
internal readonly struct Tokens6 : ITokenBlock { public static int Count => 6; }
internal readonly struct Tokens8 : ITokenBlock { public static int Count => 8; }
internal readonly struct Tokens12 : ITokenBlock { public static int Count => 12; }

/// <summary>
/// The panel micro-kernel: W along the lanes (two vectors of rows of one panel), tokens broadcast. Per k
/// step one read of W (one 64-byte line of fp16 at 512 bits, widened in registers, or two vectors of fp32)
/// feeds 2·Count FMAs, and each accumulator already holds y values in y's own order, so no transpose.
/// </summary>
internal static class PanelKernels
{
    /// <summary>
    /// tile[j][lanes·q + i] and tile[j][16 + lanes·q + i] (+)= Σ_k x[k][j] · W[k][row] for j &lt; TB.Count, over
    /// <paramref name="kc"/> k steps: <paramref name="w"/> at sub-panel q's first value (k-row stride 32),
    /// <paramref name="x"/> at the block's first token in a k-major panel of <paramref name="xStride"/>
    /// tokens, <paramref name="tile"/> at column lanes·q of token 0 (row stride 32). W is prefetched ahead when
    /// it streams from memory, x when <paramref name="prefetchX"/> says it does.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void Kernel<TS, TVec, TW, TSrc, TB>(ref TW w, ref float x, nint xStride, int kc, ref float tile, bool accumulate, bool prefetchX)
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged where TSrc : struct, IPanelSource<TW> where TB : struct, ITokenBlock
    {
        TVec c00a = TS.Zero, c00b = TS.Zero, c01a = TS.Zero, c01b = TS.Zero, c02a = TS.Zero, c02b = TS.Zero;
        TVec c03a = TS.Zero, c03b = TS.Zero, c04a = TS.Zero, c04b = TS.Zero, c05a = TS.Zero, c05b = TS.Zero;
        TVec c06a = TS.Zero, c06b = TS.Zero, c07a = TS.Zero, c07b = TS.Zero, c08a = TS.Zero, c08b = TS.Zero;
        TVec c09a = TS.Zero, c09b = TS.Zero, c10a = TS.Zero, c10b = TS.Zero, c11a = TS.Zero, c11b = TS.Zero;
        if (accumulate)
        {
            { c00a = TS.Load(in Unsafe.Add(ref tile, 0 * PanelLayout.Rows)); c00b = TS.Load(in Unsafe.Add(ref tile, 0 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
            if (TB.Count > 1) { c01a = TS.Load(in Unsafe.Add(ref tile, 1 * PanelLayout.Rows)); c01b = TS.Load(in Unsafe.Add(ref tile, 1 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
            if (TB.Count > 2) { c02a = TS.Load(in Unsafe.Add(ref tile, 2 * PanelLayout.Rows)); c02b = TS.Load(in Unsafe.Add(ref tile, 2 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
            if (TB.Count > 3) { c03a = TS.Load(in Unsafe.Add(ref tile, 3 * PanelLayout.Rows)); c03b = TS.Load(in Unsafe.Add(ref tile, 3 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
            if (TB.Count > 4) { c04a = TS.Load(in Unsafe.Add(ref tile, 4 * PanelLayout.Rows)); c04b = TS.Load(in Unsafe.Add(ref tile, 4 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
            if (TB.Count > 5) { c05a = TS.Load(in Unsafe.Add(ref tile, 5 * PanelLayout.Rows)); c05b = TS.Load(in Unsafe.Add(ref tile, 5 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
            if (TB.Count > 6) { c06a = TS.Load(in Unsafe.Add(ref tile, 6 * PanelLayout.Rows)); c06b = TS.Load(in Unsafe.Add(ref tile, 6 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
            if (TB.Count > 7) { c07a = TS.Load(in Unsafe.Add(ref tile, 7 * PanelLayout.Rows)); c07b = TS.Load(in Unsafe.Add(ref tile, 7 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
            if (TB.Count > 8) { c08a = TS.Load(in Unsafe.Add(ref tile, 8 * PanelLayout.Rows)); c08b = TS.Load(in Unsafe.Add(ref tile, 8 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
            if (TB.Count > 9) { c09a = TS.Load(in Unsafe.Add(ref tile, 9 * PanelLayout.Rows)); c09b = TS.Load(in Unsafe.Add(ref tile, 9 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
            if (TB.Count > 10) { c10a = TS.Load(in Unsafe.Add(ref tile, 10 * PanelLayout.Rows)); c10b = TS.Load(in Unsafe.Add(ref tile, 10 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
            if (TB.Count > 11) { c11a = TS.Load(in Unsafe.Add(ref tile, 11 * PanelLayout.Rows)); c11b = TS.Load(in Unsafe.Add(ref tile, 11 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
        }
        TVec w0, w1, a;
        ref float xk = ref x;
        ref TW wk = ref w;
        for (int k = 0; k < kc; k++)
        {
            if (TSrc.Streams)
                Prefetch.Ahead(ref wk);
            if (prefetchX)
                Prefetch.Ahead(ref xk);
            TSrc.Load<TS, TVec>(ref wk, out w0, out w1);
            { a = TS.Broadcast(Unsafe.Add(ref xk, 0)); c00a = TS.MultiplyAdd(w0, a, c00a); c00b = TS.MultiplyAdd(w1, a, c00b); }
            if (TB.Count > 1) { a = TS.Broadcast(Unsafe.Add(ref xk, 1)); c01a = TS.MultiplyAdd(w0, a, c01a); c01b = TS.MultiplyAdd(w1, a, c01b); }
            if (TB.Count > 2) { a = TS.Broadcast(Unsafe.Add(ref xk, 2)); c02a = TS.MultiplyAdd(w0, a, c02a); c02b = TS.MultiplyAdd(w1, a, c02b); }
            if (TB.Count > 3) { a = TS.Broadcast(Unsafe.Add(ref xk, 3)); c03a = TS.MultiplyAdd(w0, a, c03a); c03b = TS.MultiplyAdd(w1, a, c03b); }
            if (TB.Count > 4) { a = TS.Broadcast(Unsafe.Add(ref xk, 4)); c04a = TS.MultiplyAdd(w0, a, c04a); c04b = TS.MultiplyAdd(w1, a, c04b); }
            if (TB.Count > 5) { a = TS.Broadcast(Unsafe.Add(ref xk, 5)); c05a = TS.MultiplyAdd(w0, a, c05a); c05b = TS.MultiplyAdd(w1, a, c05b); }
            if (TB.Count > 6) { a = TS.Broadcast(Unsafe.Add(ref xk, 6)); c06a = TS.MultiplyAdd(w0, a, c06a); c06b = TS.MultiplyAdd(w1, a, c06b); }
            if (TB.Count > 7) { a = TS.Broadcast(Unsafe.Add(ref xk, 7)); c07a = TS.MultiplyAdd(w0, a, c07a); c07b = TS.MultiplyAdd(w1, a, c07b); }
            if (TB.Count > 8) { a = TS.Broadcast(Unsafe.Add(ref xk, 8)); c08a = TS.MultiplyAdd(w0, a, c08a); c08b = TS.MultiplyAdd(w1, a, c08b); }
            if (TB.Count > 9) { a = TS.Broadcast(Unsafe.Add(ref xk, 9)); c09a = TS.MultiplyAdd(w0, a, c09a); c09b = TS.MultiplyAdd(w1, a, c09b); }
            if (TB.Count > 10) { a = TS.Broadcast(Unsafe.Add(ref xk, 10)); c10a = TS.MultiplyAdd(w0, a, c10a); c10b = TS.MultiplyAdd(w1, a, c10b); }
            if (TB.Count > 11) { a = TS.Broadcast(Unsafe.Add(ref xk, 11)); c11a = TS.MultiplyAdd(w0, a, c11a); c11b = TS.MultiplyAdd(w1, a, c11b); }
            wk = ref Unsafe.Add(ref wk, PanelLayout.Rows);
            xk = ref Unsafe.Add(ref xk, xStride);
        }
        { TS.Store(c00a, ref Unsafe.Add(ref tile, 0 * PanelLayout.Rows)); TS.Store(c00b, ref Unsafe.Add(ref tile, 0 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
        if (TB.Count > 1) { TS.Store(c01a, ref Unsafe.Add(ref tile, 1 * PanelLayout.Rows)); TS.Store(c01b, ref Unsafe.Add(ref tile, 1 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
        if (TB.Count > 2) { TS.Store(c02a, ref Unsafe.Add(ref tile, 2 * PanelLayout.Rows)); TS.Store(c02b, ref Unsafe.Add(ref tile, 2 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
        if (TB.Count > 3) { TS.Store(c03a, ref Unsafe.Add(ref tile, 3 * PanelLayout.Rows)); TS.Store(c03b, ref Unsafe.Add(ref tile, 3 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
        if (TB.Count > 4) { TS.Store(c04a, ref Unsafe.Add(ref tile, 4 * PanelLayout.Rows)); TS.Store(c04b, ref Unsafe.Add(ref tile, 4 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
        if (TB.Count > 5) { TS.Store(c05a, ref Unsafe.Add(ref tile, 5 * PanelLayout.Rows)); TS.Store(c05b, ref Unsafe.Add(ref tile, 5 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
        if (TB.Count > 6) { TS.Store(c06a, ref Unsafe.Add(ref tile, 6 * PanelLayout.Rows)); TS.Store(c06b, ref Unsafe.Add(ref tile, 6 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
        if (TB.Count > 7) { TS.Store(c07a, ref Unsafe.Add(ref tile, 7 * PanelLayout.Rows)); TS.Store(c07b, ref Unsafe.Add(ref tile, 7 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
        if (TB.Count > 8) { TS.Store(c08a, ref Unsafe.Add(ref tile, 8 * PanelLayout.Rows)); TS.Store(c08b, ref Unsafe.Add(ref tile, 8 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
        if (TB.Count > 9) { TS.Store(c09a, ref Unsafe.Add(ref tile, 9 * PanelLayout.Rows)); TS.Store(c09b, ref Unsafe.Add(ref tile, 9 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
        if (TB.Count > 10) { TS.Store(c10a, ref Unsafe.Add(ref tile, 10 * PanelLayout.Rows)); TS.Store(c10b, ref Unsafe.Add(ref tile, 10 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
        if (TB.Count > 11) { TS.Store(c11a, ref Unsafe.Add(ref tile, 11 * PanelLayout.Rows)); TS.Store(c11b, ref Unsafe.Add(ref tile, 11 * PanelLayout.Rows + PanelLayout.Rows / 2)); }
    }
}
