using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace XlmEdge.Kernels;

/// <summary>
/// One int8 dot-product instruction sequence seen through static abstract members, so the q8 tile kernel
/// (<see cref="Int8Linear"/>) is written once and the JIT specialises it per path. Operands: x (activations)
/// and w (weights) are int8 in [-127, 127] and [-128, 127]; every path returns the exact integer sums.
/// </summary>
/// <typeparam name="TB">A vector of int8 (x or w, <see cref="Bytes"/> values).</typeparam>
/// <typeparam name="TAcc">A vector of int32 partial sums.</typeparam>
/// <remarks>
/// Each W vector is prepared once (<see cref="PrepareW"/>) and used for every token of a tile, each x
/// vector once (<see cref="PrepareX"/>) for every row; <see cref="DotAdd"/> then adds the products of one
/// pair to the accumulator. A path that has no use for a second prepared vector leaves it default: the
/// JIT drops it.
/// </remarks>
internal interface IInt8Dot<TB, TAcc> where TB : struct where TAcc : struct
{
    /// <summary>int8 values per vector.</summary>
    static abstract int Bytes { get; }

    static abstract TAcc Zero { get; }

    static abstract TB Load(ref readonly sbyte source);

    static abstract void PrepareW(TB w, out TB a, out TB b);

    static abstract void PrepareX(TB x, out TB a, out TB b);

    /// <summary>acc + the products of one (x, w) pair, summed into int32 lanes (which lanes hold which k is the path's business).</summary>
    static abstract TAcc DotAdd(TAcc acc, TB xa, TB xb, TB wa, TB wb);

    /// <summary>The sums of all lanes of four accumulators, in one vector (pairwise adds instead of four reductions).</summary>
    static abstract Vector128<int> Sum4(TAcc a0, TAcc a1, TAcc a2, TAcc a3);

    /// <summary>
    /// True when <see cref="DotAdd"/> sums (w + 128)·x rather than w·x (the unsigned operand of <c>vpdpbusd</c>
    /// is w offset by 128): the caller subtracts 128·Σx, which the activation quantizer records per token.
    /// </summary>
    static abstract bool OffsetsW { get; }
}

#if NET9_0_OR_GREATER
// net8.0 has AvxVnni only as a preview feature: its builds run AVX-VNNI machines on the AVX2 path.
/// <summary>
/// AVX-VNNI: <c>vpdpbusd</c> multiplies unsigned by signed bytes and adds groups of four into int32 lanes,
/// exactly (no intermediate saturation in the non-saturating form). w is made unsigned by flipping its
/// sign bit (w + 128, one <c>vpxor</c> per W vector, shared by every token); the caller removes 128·Σx.
/// </summary>
internal readonly struct VnniDot : IInt8Dot<Vector256<sbyte>, Vector256<int>>
{
    public static int Bytes => 32;
    public static Vector256<int> Zero => Vector256<int>.Zero;
    public static bool OffsetsW => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<sbyte> Load(ref readonly sbyte source) => Vector256.LoadUnsafe(in source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrepareW(Vector256<sbyte> w, out Vector256<sbyte> a, out Vector256<sbyte> b)
    {
        a = w ^ Vector256.Create(unchecked((sbyte)0x80));
        b = default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrepareX(Vector256<sbyte> x, out Vector256<sbyte> a, out Vector256<sbyte> b)
    {
        a = x;
        b = default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotAdd(Vector256<int> acc, Vector256<sbyte> xa, Vector256<sbyte> xb, Vector256<sbyte> wa, Vector256<sbyte> wb) =>
        AvxVnni.MultiplyWideningAndAdd(acc, wa.AsByte(), xa);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Sum4(Vector256<int> a0, Vector256<int> a1, Vector256<int> a2, Vector256<int> a3) => Int8Sums.Sum4(a0, a1, a2, a3);
}
#endif

/// <summary>
/// AVX2: <c>vpmaddubsw</c> (unsigned x signed bytes, adjacent pairs summed into int16 with saturation) then
/// <c>vpmaddwd</c> by ones (pairs of int16 into int32). The unsigned operand is |w| (up to 128) and the signed
/// one x with w's sign (<c>vpsignb</c>; |x| ≤ 127 never wraps), so a pair sums to at most 2·128·127 = 32512:
/// below int16's 32767, no saturation, exact for every w including -128.
/// </summary>
internal readonly struct Avx2Dot : IInt8Dot<Vector256<sbyte>, Vector256<int>>
{
    public static int Bytes => 32;
    public static Vector256<int> Zero => Vector256<int>.Zero;
    public static bool OffsetsW => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<sbyte> Load(ref readonly sbyte source) => Vector256.LoadUnsafe(in source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrepareW(Vector256<sbyte> w, out Vector256<sbyte> a, out Vector256<sbyte> b)
    {
        a = Avx2.Abs(w).AsSByte();
        b = w;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrepareX(Vector256<sbyte> x, out Vector256<sbyte> a, out Vector256<sbyte> b)
    {
        a = x;
        b = default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotAdd(Vector256<int> acc, Vector256<sbyte> xa, Vector256<sbyte> xb, Vector256<sbyte> wa, Vector256<sbyte> wb)
    {
        var pairs = Avx2.MultiplyAddAdjacent(wa.AsByte(), Avx2.Sign(xa, wb));
        return Avx2.Add(acc, Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)1)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Sum4(Vector256<int> a0, Vector256<int> a1, Vector256<int> a2, Vector256<int> a3) => Int8Sums.Sum4(a0, a1, a2, a3);
}

/// <summary>
/// AVX-512BW: as <see cref="Avx2Dot"/> on 512 bits. AVX-512 has no <c>vpsignb</c>, so x takes w's sign by a
/// bitwise select (one <c>vpternlogd</c>) between x and -x, both prepared once per token, under the mask
/// "w &lt; 0" prepared once per W vector (where w is 0, |w| is 0 and the product vanishes either way).
/// </summary>
internal readonly struct Avx512Dot : IInt8Dot<Vector512<sbyte>, Vector512<int>>
{
    public static int Bytes => 64;
    public static Vector512<int> Zero => Vector512<int>.Zero;
    public static bool OffsetsW => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<sbyte> Load(ref readonly sbyte source) => Vector512.LoadUnsafe(in source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrepareW(Vector512<sbyte> w, out Vector512<sbyte> a, out Vector512<sbyte> b)
    {
        a = Avx512BW.Abs(w).AsSByte();
        b = Vector512.LessThan(w, Vector512<sbyte>.Zero);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrepareX(Vector512<sbyte> x, out Vector512<sbyte> a, out Vector512<sbyte> b)
    {
        a = x;
        b = Vector512<sbyte>.Zero - x;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> DotAdd(Vector512<int> acc, Vector512<sbyte> xa, Vector512<sbyte> xb, Vector512<sbyte> wa, Vector512<sbyte> wb)
    {
        var pairs = Avx512BW.MultiplyAddAdjacent(wa.AsByte(), Vector512.ConditionalSelect(wb, xb, xa));
        return Avx512F.Add(acc, Avx512BW.MultiplyAddAdjacent(pairs, Vector512.Create((short)1)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Sum4(Vector512<int> a0, Vector512<int> a1, Vector512<int> a2, Vector512<int> a3) =>
        Int8Sums.Sum4(a0.GetLower() + a0.GetUpper(), a1.GetLower() + a1.GetUpper(), a2.GetLower() + a2.GetUpper(), a3.GetLower() + a3.GetUpper());
}

/// <summary>
/// 128 bits without a dot-product instruction. x64: SSSE3 <c>pmaddubsw</c> + <c>pmaddwd</c> with the same
/// sign trick as <see cref="Avx2Dot"/>. ARM64: <c>smull</c>/<c>smull2</c> (int8 x int8 into int16, exact:
/// at most 128·128) then <c>sadalp</c> (pairs of int16 added into the int32 lanes).
/// </summary>
internal readonly struct Vector128Dot : IInt8Dot<Vector128<sbyte>, Vector128<int>>
{
    public static int Bytes => 16;
    public static Vector128<int> Zero => Vector128<int>.Zero;
    public static bool OffsetsW => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Load(ref readonly sbyte source) => Vector128.LoadUnsafe(in source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrepareW(Vector128<sbyte> w, out Vector128<sbyte> a, out Vector128<sbyte> b)
    {
        if (Ssse3.IsSupported)
        {
            a = Ssse3.Abs(w).AsSByte();
            b = w;
        }
        else
        {
            a = w;
            b = default;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrepareX(Vector128<sbyte> x, out Vector128<sbyte> a, out Vector128<sbyte> b)
    {
        a = x;
        b = default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> DotAdd(Vector128<int> acc, Vector128<sbyte> xa, Vector128<sbyte> xb, Vector128<sbyte> wa, Vector128<sbyte> wb)
    {
        if (Ssse3.IsSupported)
        {
            var pairs = Ssse3.MultiplyAddAdjacent(wa.AsByte(), Ssse3.Sign(xa, wb));
            return Sse2.Add(acc, Sse2.MultiplyAddAdjacent(pairs, Vector128.Create((short)1)));
        }
        if (AdvSimd.Arm64.IsSupported)
        {
            acc = AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningLower(xa.GetLower(), wa.GetLower()));
            return AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningUpper(xa, wa));
        }
        throw new PlatformNotSupportedException();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Sum4(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3) => Int8Sums.Sum4(a0, a1, a2, a3);
}

/// <summary>ARM64 FEAT_DotProd: <c>sdot</c> adds groups of four signed int8 products into each int32 lane, exactly.</summary>
internal readonly struct ArmDot : IInt8Dot<Vector128<sbyte>, Vector128<int>>
{
    public static int Bytes => 16;
    public static Vector128<int> Zero => Vector128<int>.Zero;
    public static bool OffsetsW => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Load(ref readonly sbyte source) => Vector128.LoadUnsafe(in source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrepareW(Vector128<sbyte> w, out Vector128<sbyte> a, out Vector128<sbyte> b)
    {
        a = w;
        b = default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrepareX(Vector128<sbyte> x, out Vector128<sbyte> a, out Vector128<sbyte> b)
    {
        a = x;
        b = default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> DotAdd(Vector128<int> acc, Vector128<sbyte> xa, Vector128<sbyte> xb, Vector128<sbyte> wa, Vector128<sbyte> wb) =>
        Dp.DotProduct(acc, xa, wa);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Sum4(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3) => Int8Sums.Sum4(a0, a1, a2, a3);
}

/// <summary>Four reductions at once: pairwise (horizontal) adds where the CPU has them, four sums otherwise.</summary>
internal static class Int8Sums
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Sum4(Vector256<int> a0, Vector256<int> a1, Vector256<int> a2, Vector256<int> a3)
    {
        if (Avx2.IsSupported)
        {
            // [a0 a0 a1 a1 | a0 a0 a1 a1] pair sums, then [a0 a1 a2 a3 | a0 a1 a2 a3] quarter sums; the halves add up.
            var h = Avx2.HorizontalAdd(Avx2.HorizontalAdd(a0, a1), Avx2.HorizontalAdd(a2, a3));
            return h.GetLower() + h.GetUpper();
        }
        return Sum4(a0.GetLower() + a0.GetUpper(), a1.GetLower() + a1.GetUpper(), a2.GetLower() + a2.GetUpper(), a3.GetLower() + a3.GetUpper());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Sum4(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3)
    {
        if (Ssse3.IsSupported)
            return Ssse3.HorizontalAdd(Ssse3.HorizontalAdd(a0, a1), Ssse3.HorizontalAdd(a2, a3));
        if (AdvSimd.Arm64.IsSupported)
            return AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(a0, a1), AdvSimd.Arm64.AddPairwise(a2, a3));
        return Vector128.Create(Vector128.Sum(a0), Vector128.Sum(a1), Vector128.Sum(a2), Vector128.Sum(a3));
    }
}
