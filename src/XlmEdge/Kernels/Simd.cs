using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace XlmEdge.Kernels;

/// <summary>
/// One vector width seen through static abstract members, so each kernel is written once as a
/// generic method and the JIT specialises it per width (as TensorPrimitives does with its operators).
/// </summary>
/// <typeparam name="TVec">The vector of floats of this width.</typeparam>
internal interface ISimd<TVec> where TVec : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    static abstract TVec Zero { get; }

    static abstract TVec Broadcast(float value);

    static abstract TVec Load(ref readonly float source);

    static abstract void Store(TVec value, ref float destination);

    /// <summary>Loads <see cref="Count"/> fp16 values and widens them to fp32: bit for bit (float)Half for every pattern, infinity and NaN included.</summary>
    static abstract TVec LoadHalf(ref readonly Half source);

    /// <summary>
    /// Loads 2·<see cref="Count"/> fp16 values and widens them in two vectors: the even-indexed ones
    /// and the odd-indexed ones. Cheaper than <see cref="LoadHalf"/> (shifts and masks on 32-bit
    /// lanes, no widening shuffles); dot-product kernels permute the other operand to match.
    /// </summary>
    static abstract void LoadHalfPairs(ref readonly Half source, out TVec even, out TVec odd);

    /// <summary>
    /// As <see cref="LoadHalfPairs"/> without the final multiply: each value comes out as its fp16 value
    /// times 2^-112 (<see cref="HalfBits.Scale"/>), exactly. Kernels multiply the other operand by 2^112 instead.
    /// </summary>
    static abstract void LoadHalfPairsUnscaled(ref readonly Half source, out TVec even, out TVec odd);

    static abstract TVec Add(TVec a, TVec b);

    static abstract TVec Subtract(TVec a, TVec b);

    static abstract TVec Multiply(TVec a, TVec b);

    static abstract TVec Divide(TVec a, TVec b);

    static abstract TVec Max(TVec a, TVec b);

    static abstract TVec Abs(TVec a);

    /// <summary>a * b + c with one rounding.</summary>
    static abstract TVec MultiplyAdd(TVec a, TVec b, TVec c);

    static abstract TVec Exp(TVec x);

    /// <summary>Lane-wise x &lt; 0 ? ifNegative : otherwise.</summary>
    static abstract TVec SelectNegative(TVec x, TVec ifNegative, TVec otherwise);

    static abstract float Sum(TVec v);

    static abstract float MaxAcross(TVec v);
}

/// <summary>
/// exp(x) in fp32 (Cephes expf): n = round(x·log2 e), r = x - n·ln 2 in two FMA steps, a degree-7
/// polynomial for e^r on |r| ≤ ln2/2, and 2^n built in the exponent bits. Relative error about 2 ulp;
/// inputs are clamped to [-87.3, 88.7] (results below 2^-126 come out as ~1e-38, not 0).
/// The framework's VectorN.Exp is exact to 1 ulp but goes through double and costs ~5x more, which
/// GELU on the FFN activations and softmax over long rows would feel.
/// </summary>
internal static class FastExp
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;
    private const float Magic = 12582912f; // 1.5·2^23: adding it rounds to an integer
    private const float Min = -87.3f;
    private const float Max = 88.7f;
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f;
    private const float P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        x = Vector128.Min(Vector128.Max(x, Vector128.Create(Min)), Vector128.Create(Max));
        var n = Vector128.FusedMultiplyAdd(x, Vector128.Create(Log2E), Vector128.Create(Magic)) - Vector128.Create(Magic);
        var r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2Hi), x);
        r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2Lo), r);
        var p = Vector128.FusedMultiplyAdd(Vector128.Create(P0), r, Vector128.Create(P1));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(P2));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(P3));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(P4));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(P5));
        p = Vector128.FusedMultiplyAdd(p, r * r, r + Vector128<float>.One);
        var scale = ((Vector128.ConvertToInt32Native(n) + Vector128.Create(127)) << 23).AsSingle();
        return p * scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(Min)), Vector256.Create(Max));
        var n = Vector256.FusedMultiplyAdd(x, Vector256.Create(Log2E), Vector256.Create(Magic)) - Vector256.Create(Magic);
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(P0), r, Vector256.Create(P1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P5));
        p = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);
        var scale = ((Vector256.ConvertToInt32Native(n) + Vector256.Create(127)) << 23).AsSingle();
        return p * scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(Min)), Vector512.Create(Max));
        var n = Vector512.FusedMultiplyAdd(x, Vector512.Create(Log2E), Vector512.Create(Magic)) - Vector512.Create(Magic);
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(P0), r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        p = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        var scale = ((Vector512.ConvertToInt32Native(n) + Vector512.Create(127)) << 23).AsSingle();
        return p * scale;
    }
}

/// <summary>
/// fp16 -> fp32 by bit arithmetic (.NET 10 exposes no F16C/VCVTPH2PS intrinsic): sign-extend the
/// 16 bits to 32, shift left by 13 so the exponent and mantissa land in fp32 position (the sign copies
/// land in bits 28..31), keep bit 31 and bits 13..27, and scale by 2^112 to rebias the exponent.
/// Exact for normals and subnormals. fp16 exponent 31 (infinity, NaN) would come out as a large finite
/// value (2^16 · 1.m), so those lanes get the rest of the fp32 exponent (bits 28..30) set: infinity
/// stays infinite and NaN stays NaN with its payload, quieted by the multiply, bit for bit what the
/// framework's (float)Half gives for all 65,536 patterns.
/// </summary>
internal static class HalfBits
{
    public const int Mask = unchecked((int)0x8FFFE000);

    public const float Scale = 5.192296858534828e33f; // 2^112

    /// <summary>fp16 exponent 31 after the shift: bits 23..27.</summary>
    private const int TopExponent = 0x0F800000;

    /// <summary>The fp32 exponent bits the shift leaves clear; set for infinity and NaN.</summary>
    private const int Overflow = 0x70000000;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Finish(Vector128<int> signExtended) => Special((signExtended << 13) & Vector128.Create(Mask)) * Vector128.Create(Scale);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Finish(Vector256<int> signExtended) => Special((signExtended << 13) & Vector256.Create(Mask)) * Vector256.Create(Scale);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Finish(Vector512<int> signExtended) => Special((signExtended << 13) & Vector512.Create(Mask)) * Vector512.Create(Scale);

    /// <summary>Masked bits -> the unscaled float, with exponent 31 (infinity, NaN) moved to fp32's 255.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Special(Vector128<int> bits)
    {
        var top = Vector128.Equals(bits & Vector128.Create(TopExponent), Vector128.Create(TopExponent));
        return (bits | (top & Vector128.Create(Overflow))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Special(Vector256<int> bits)
    {
        var top = Vector256.Equals(bits & Vector256.Create(TopExponent), Vector256.Create(TopExponent));
        return (bits | (top & Vector256.Create(Overflow))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Special(Vector512<int> bits)
    {
        var top = Vector512.Equals(bits & Vector512.Create(TopExponent), Vector512.Create(TopExponent));
        return (bits | (top & Vector512.Create(Overflow))).AsSingle();
    }

    // Pairs: each 32-bit lane holds two fp16 values. The odd one already has its sign at bit 31, so an
    // arithmetic shift right by 3 puts exponent and mantissa at bits 13..27 with sign copies above;
    // the even one is first moved up by 16.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Odd(Vector128<int> pairs) => OddUnscaled(pairs) * Vector128.Create(Scale);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Even(Vector128<int> pairs) => Odd(pairs << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> OddUnscaled(Vector128<int> pairs) => Special((pairs >> 3) & Vector128.Create(Mask));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> EvenUnscaled(Vector128<int> pairs) => OddUnscaled(pairs << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Odd(Vector256<int> pairs) => OddUnscaled(pairs) * Vector256.Create(Scale);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Even(Vector256<int> pairs) => Odd(pairs << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> OddUnscaled(Vector256<int> pairs) => Special((pairs >> 3) & Vector256.Create(Mask));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> EvenUnscaled(Vector256<int> pairs) => OddUnscaled(pairs << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Odd(Vector512<int> pairs) => OddUnscaled(pairs) * Vector512.Create(Scale);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Even(Vector512<int> pairs) => Odd(pairs << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> OddUnscaled(Vector512<int> pairs) => Special((pairs >> 3) & Vector512.Create(Mask));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> EvenUnscaled(Vector512<int> pairs) => OddUnscaled(pairs << 16);

    /// <summary>The scalar form of the same arithmetic (the vector forms' tails); equals (float)value for every pattern.</summary>
    public static float ToSingle(Half value) => ToSingleUnscaled(value) * Scale;

    /// <summary>The fp16 value times 2^-112, exactly (the scalar form of the unscaled widening); NaN stays NaN.</summary>
    public static float ToSingleUnscaled(Half value)
    {
        int bits = ((short)BitConverter.HalfToInt16Bits(value) << 13) & Mask;
        if ((bits & TopExponent) == TopExponent)
            bits |= Overflow;
        return BitConverter.Int32BitsToSingle(bits);
    }
}

internal readonly struct Simd128 : ISimd<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;

    public static Vector128<float> Zero => Vector128<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Broadcast(float value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(ref readonly float source) => Vector128.LoadUnsafe(in source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> value, ref float destination) => value.StoreUnsafe(ref destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LoadHalf(ref readonly Half source)
    {
        var packed = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(in Unsafe.As<Half, byte>(ref Unsafe.AsRef(in source)))).AsInt16();
        Vector128<int> wide;
        if (Sse41.IsSupported)
            wide = Sse41.ConvertToVector128Int32(packed);
        else if (AdvSimd.IsSupported)
            wide = AdvSimd.SignExtendWideningLower(packed.GetLower());
        else
            wide = Vector128.WidenLower(packed);
        return HalfBits.Finish(wide);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadHalfPairs(ref readonly Half source, out Vector128<float> even, out Vector128<float> odd)
    {
        var pairs = Vector128.LoadUnsafe(in Unsafe.As<Half, int>(ref Unsafe.AsRef(in source)));
        even = HalfBits.Even(pairs);
        odd = HalfBits.Odd(pairs);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadHalfPairsUnscaled(ref readonly Half source, out Vector128<float> even, out Vector128<float> odd)
    {
        var pairs = Vector128.LoadUnsafe(in Unsafe.As<Half, int>(ref Unsafe.AsRef(in source)));
        even = HalfBits.EvenUnscaled(pairs);
        odd = HalfBits.OddUnscaled(pairs);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Abs(Vector128<float> a) => Vector128.Abs(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x) => FastExp.Exp(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> SelectNegative(Vector128<float> x, Vector128<float> ifNegative, Vector128<float> otherwise) =>
        Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<float>.Zero), ifNegative, otherwise);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector128<float> v) => Vector128.Sum(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector128<float> v)
    {
        var m = Vector128.Max(v, Vector128.Shuffle(v, Vector128.Create(2, 3, 0, 1)));
        return MathF.Max(m.GetElement(0), m.GetElement(1));
    }
}

internal readonly struct Simd256 : ISimd<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;

    public static Vector256<float> Zero => Vector256<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Broadcast(float value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref readonly float source) => Vector256.LoadUnsafe(in source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> value, ref float destination) => value.StoreUnsafe(ref destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LoadHalf(ref readonly Half source)
    {
        var packed = Vector128.LoadUnsafe(in Unsafe.As<Half, short>(ref Unsafe.AsRef(in source)));
        var wide = Avx2.IsSupported
            ? Avx2.ConvertToVector256Int32(packed)
            : Vector256.Create(Vector128.WidenLower(packed), Vector128.WidenUpper(packed));
        return HalfBits.Finish(wide);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadHalfPairs(ref readonly Half source, out Vector256<float> even, out Vector256<float> odd)
    {
        var pairs = Vector256.LoadUnsafe(in Unsafe.As<Half, int>(ref Unsafe.AsRef(in source)));
        even = HalfBits.Even(pairs);
        odd = HalfBits.Odd(pairs);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadHalfPairsUnscaled(ref readonly Half source, out Vector256<float> even, out Vector256<float> odd)
    {
        var pairs = Vector256.LoadUnsafe(in Unsafe.As<Half, int>(ref Unsafe.AsRef(in source)));
        even = HalfBits.EvenUnscaled(pairs);
        odd = HalfBits.OddUnscaled(pairs);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Abs(Vector256<float> a) => Vector256.Abs(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x) => FastExp.Exp(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SelectNegative(Vector256<float> x, Vector256<float> ifNegative, Vector256<float> otherwise) =>
        Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), ifNegative, otherwise);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> v) => Vector256.Sum(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector256<float> v) => Simd128.MaxAcross(Vector128.Max(v.GetLower(), v.GetUpper()));
}

internal readonly struct Simd512 : ISimd<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;

    public static Vector512<float> Zero => Vector512<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Broadcast(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref readonly float source) => Vector512.LoadUnsafe(in source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, ref float destination) => value.StoreUnsafe(ref destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LoadHalf(ref readonly Half source)
    {
        var packed = Vector256.LoadUnsafe(in Unsafe.As<Half, short>(ref Unsafe.AsRef(in source)));
        var wide = Avx512F.IsSupported
            ? Avx512F.ConvertToVector512Int32(packed)
            : Vector512.Create(Vector256.WidenLower(packed), Vector256.WidenUpper(packed));
        return HalfBits.Finish(wide);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadHalfPairs(ref readonly Half source, out Vector512<float> even, out Vector512<float> odd)
    {
        var pairs = Vector512.LoadUnsafe(in Unsafe.As<Half, int>(ref Unsafe.AsRef(in source)));
        even = HalfBits.Even(pairs);
        odd = HalfBits.Odd(pairs);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadHalfPairsUnscaled(ref readonly Half source, out Vector512<float> even, out Vector512<float> odd)
    {
        var pairs = Vector512.LoadUnsafe(in Unsafe.As<Half, int>(ref Unsafe.AsRef(in source)));
        even = HalfBits.EvenUnscaled(pairs);
        odd = HalfBits.OddUnscaled(pairs);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Abs(Vector512<float> a) => Vector512.Abs(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x) => FastExp.Exp(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SelectNegative(Vector512<float> x, Vector512<float> ifNegative, Vector512<float> otherwise) =>
        Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), ifNegative, otherwise);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector512<float> v) => Vector512.Sum(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector512<float> v) => Simd256.MaxAcross(Vector256.Max(v.GetLower(), v.GetUpper()));
}
