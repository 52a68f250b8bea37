using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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

    /// <summary>
    /// As <see cref="LoadHalfPairsUnscaled"/> for finite values only: fp16 exponent 31 (infinity, NaN) is not
    /// moved to fp32's, so those come out as finite values (2^-96 · 1.m). Two or three integer operations per
    /// vector instead of five or six (<see cref="HalfBits"/>); the panel kernels use it on panel matrices, which
    /// the loader has checked hold no infinity or NaN (<see cref="HalfBits.IndexOfNonFinite"/>).
    /// </summary>
    static abstract void LoadFiniteHalfPairs(ref readonly Half source, out TVec even, out TVec odd);

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

    /// <summary>Lane-wise maximum as the hardware computes it (which operand wins for NaN is not specified): max |x| scans.</summary>
    static abstract TVec MaxNative(TVec a, TVec b);

    /// <summary>
    /// Splits the 2·<see cref="Count"/> values of <paramref name="a"/> then <paramref name="b"/> into the
    /// even-indexed ones and the odd-indexed ones, each in order: the "pair order" <see cref="LoadHalfPairs"/> produces.
    /// </summary>
    static abstract void Deinterleave(TVec a, TVec b, out TVec even, out TVec odd);

    /// <summary>Side of the square block <see cref="TransposeBlock"/> moves: 4 at 128 bits, 8 at 256 and 512 bits.</summary>
    static abstract int BlockSize { get; }

    /// <summary>
    /// destination[i, j] = source[j, i] + addend[j] for i, j &lt; <see cref="BlockSize"/> (strides in floats):
    /// shuffles in registers instead of one value at a time.
    /// </summary>
    static abstract void TransposeBlock(ref float source, nint sourceStride, ref float destination, nint destinationStride, ref readonly float addend);
}

/// <summary>
/// Software prefetch of weights that stream from memory once per call (fp16 panels as the panel kernel
/// or the panel widening reads them, the GEMMs' next slices, the mask GEMV's rows). The hardware
/// prefetchers alone left the small-T encoder waiting on DRAM: on an AMD EPYC Zen 5 (AVX-512, 2 threads,
/// machine loaded by other jobs, interleaved A/B in one process) prefetching 2 KB ahead in the panel
/// kernel made the enfr-1024 encoder 1.18-1.24x faster at T = 8, 1.13-1.20x at T = 16, 1.11x at T = 32
/// and 1.06x at T = 64 (1.02x at 128); 1 KB ahead gained only 1.06x. On the quiet machine 4 KB then beat
/// 2 KB by 1.06x at T = 8, 1.04x at 16, 1.02x at 32 and 1.01x at 128 (6 KB: 1.06x at T = 8, 0.98x at
/// 128); with the 256-bit path forced 4 KB against 2 KB was 1.02x, 1.03x and 0.99x at T = 8, 16, 128.
/// x64 only: .NET exposes no prefetch on ARM64 (no PRFM), where the hardware prefetcher alone follows
/// the streams.
/// </summary>
internal static class Prefetch
{
    /// <summary>Bytes ahead of the current read.</summary>
    public const int Distance = 4096;

    /// <summary>Prefetches the line <see cref="Distance"/> bytes past <paramref name="at"/> into all cache levels (never faults).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Ahead<T>(ref T at) where T : unmanaged
    {
        if (Sse.IsSupported)
            Sse.Prefetch0((byte*)Unsafe.AsPointer(ref at) + Distance);
    }

    /// <summary>Prefetches the lines of [at + offset, at + offset + bytes) into all cache levels (never faults; x64 only, as <see cref="Rows"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Lines<T>(ref T at, nint offset, int bytes) where T : unmanaged
    {
        if (!Sse.IsSupported)
            return;
        byte* start = (byte*)Unsafe.AsPointer(ref at) + offset;
        for (int line = 0; line < bytes; line += 64)
            Sse.Prefetch0(start + line);
    }

    /// <summary>
    /// Asks for W[r, k0 .. k0+kc) of the next slice (or the item this worker likely takes next) while the
    /// current slice is computed, so its DRAM latency overlaps the kernel instead of stalling the next
    /// widening. A hint only: a wrong guess costs bandwidth, never correctness. x64 only: .NET 10 has no
    /// prefetch intrinsic for ARM64 (no PRFM), where the hardware prefetcher alone follows the row streams.
    /// </summary>
    public static unsafe void Rows<TW>(ref TW w, int rows, int K, int k0, int kc) where TW : unmanaged
    {
        if (!Sse.IsSupported)
            return;
        for (int r = 0; r < rows; r++)
            Lines(ref Unsafe.Add(ref w, (nint)r * K + k0), 0, kc * sizeof(TW));
    }
}

/// <summary>Block transposes shared by the widths (the 128-bit one is also the 256-bit one's fallback).</summary>
internal static class Transposes
{
    /// <summary>Eight floats of -0, the identity of addition (x + -0 = x for every x, -0 included): "no addend".</summary>
    public static ReadOnlySpan<float> NegativeZeros => [-0f, -0f, -0f, -0f, -0f, -0f, -0f, -0f];

    /// <summary>4 × 4 with SSE or AdvSimd shuffles (four vector loads, eight shuffles, four stores).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose4x4(ref float source, nint sourceStride, ref float destination, nint destinationStride, ref readonly float addend)
    {
        var a0 = Vector128.LoadUnsafe(ref source);
        var a1 = Vector128.LoadUnsafe(ref source, (nuint)sourceStride);
        var a2 = Vector128.LoadUnsafe(ref source, (nuint)(2 * sourceStride));
        var a3 = Vector128.LoadUnsafe(ref source, (nuint)(3 * sourceStride));
        Vector128<float> r0, r1, r2, r3;
        if (Sse.IsSupported)
        {
            var t0 = Sse.UnpackLow(a0, a1);   // a00 a10 a01 a11
            var t1 = Sse.UnpackLow(a2, a3);   // a20 a30 a21 a31
            var t2 = Sse.UnpackHigh(a0, a1);  // a02 a12 a03 a13
            var t3 = Sse.UnpackHigh(a2, a3);  // a22 a32 a23 a33
            r0 = Sse.MoveLowToHigh(t0, t1);
            r1 = Sse.MoveHighToLow(t1, t0);
            r2 = Sse.MoveLowToHigh(t2, t3);
            r3 = Sse.MoveHighToLow(t3, t2);
        }
        else if (AdvSimd.Arm64.IsSupported)
        {
            var t0 = AdvSimd.Arm64.TransposeEven(a0, a1).AsUInt64(); // a00 a10 a02 a12
            var t1 = AdvSimd.Arm64.TransposeOdd(a0, a1).AsUInt64();  // a01 a11 a03 a13
            var t2 = AdvSimd.Arm64.TransposeEven(a2, a3).AsUInt64(); // a20 a30 a22 a32
            var t3 = AdvSimd.Arm64.TransposeOdd(a2, a3).AsUInt64();  // a21 a31 a23 a33
            r0 = AdvSimd.Arm64.TransposeEven(t0, t2).AsSingle();
            r1 = AdvSimd.Arm64.TransposeEven(t1, t3).AsSingle();
            r2 = AdvSimd.Arm64.TransposeOdd(t0, t2).AsSingle();
            r3 = AdvSimd.Arm64.TransposeOdd(t1, t3).AsSingle();
        }
        else
        {
            r0 = Vector128.Create(a0.GetElement(0), a1.GetElement(0), a2.GetElement(0), a3.GetElement(0));
            r1 = Vector128.Create(a0.GetElement(1), a1.GetElement(1), a2.GetElement(1), a3.GetElement(1));
            r2 = Vector128.Create(a0.GetElement(2), a1.GetElement(2), a2.GetElement(2), a3.GetElement(2));
            r3 = Vector128.Create(a0.GetElement(3), a1.GetElement(3), a2.GetElement(3), a3.GetElement(3));
        }
        var add = Vector128.LoadUnsafe(in addend);
        (r0 + add).StoreUnsafe(ref destination);
        (r1 + add).StoreUnsafe(ref destination, (nuint)destinationStride);
        (r2 + add).StoreUnsafe(ref destination, (nuint)(2 * destinationStride));
        (r3 + add).StoreUnsafe(ref destination, (nuint)(3 * destinationStride));
    }

    /// <summary>8 × 8 with AVX shuffles, or as four 4 × 4 blocks where AVX is missing (ARM64).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose8x8(ref float source, nint sourceStride, ref float destination, nint destinationStride, ref readonly float addend)
    {
        if (!Avx.IsSupported)
        {
            for (int i = 0; i < 8; i += 4)
                for (int j = 0; j < 8; j += 4)
                    Transpose4x4(ref Unsafe.Add(ref source, j * sourceStride + i), sourceStride,
                        ref Unsafe.Add(ref destination, i * destinationStride + j), destinationStride, in Unsafe.Add(ref Unsafe.AsRef(in addend), j));
            return;
        }
        var a0 = Vector256.LoadUnsafe(ref source);
        var a1 = Vector256.LoadUnsafe(ref source, (nuint)sourceStride);
        var a2 = Vector256.LoadUnsafe(ref source, (nuint)(2 * sourceStride));
        var a3 = Vector256.LoadUnsafe(ref source, (nuint)(3 * sourceStride));
        var a4 = Vector256.LoadUnsafe(ref source, (nuint)(4 * sourceStride));
        var a5 = Vector256.LoadUnsafe(ref source, (nuint)(5 * sourceStride));
        var a6 = Vector256.LoadUnsafe(ref source, (nuint)(6 * sourceStride));
        var a7 = Vector256.LoadUnsafe(ref source, (nuint)(7 * sourceStride));
        var b0 = Avx.UnpackLow(a0, a1);
        var b1 = Avx.UnpackHigh(a0, a1);
        var b2 = Avx.UnpackLow(a2, a3);
        var b3 = Avx.UnpackHigh(a2, a3);
        var b4 = Avx.UnpackLow(a4, a5);
        var b5 = Avx.UnpackHigh(a4, a5);
        var b6 = Avx.UnpackLow(a6, a7);
        var b7 = Avx.UnpackHigh(a6, a7);
        var c0 = Avx.Shuffle(b0, b2, 0x44);
        var c1 = Avx.Shuffle(b0, b2, 0xEE);
        var c2 = Avx.Shuffle(b1, b3, 0x44);
        var c3 = Avx.Shuffle(b1, b3, 0xEE);
        var c4 = Avx.Shuffle(b4, b6, 0x44);
        var c5 = Avx.Shuffle(b4, b6, 0xEE);
        var c6 = Avx.Shuffle(b5, b7, 0x44);
        var c7 = Avx.Shuffle(b5, b7, 0xEE);
        var add = Vector256.LoadUnsafe(in addend);
        (Avx.Permute2x128(c0, c4, 0x20) + add).StoreUnsafe(ref destination);
        (Avx.Permute2x128(c1, c5, 0x20) + add).StoreUnsafe(ref destination, (nuint)destinationStride);
        (Avx.Permute2x128(c2, c6, 0x20) + add).StoreUnsafe(ref destination, (nuint)(2 * destinationStride));
        (Avx.Permute2x128(c3, c7, 0x20) + add).StoreUnsafe(ref destination, (nuint)(3 * destinationStride));
        (Avx.Permute2x128(c0, c4, 0x31) + add).StoreUnsafe(ref destination, (nuint)(4 * destinationStride));
        (Avx.Permute2x128(c1, c5, 0x31) + add).StoreUnsafe(ref destination, (nuint)(5 * destinationStride));
        (Avx.Permute2x128(c2, c6, 0x31) + add).StoreUnsafe(ref destination, (nuint)(6 * destinationStride));
        (Avx.Permute2x128(c3, c7, 0x31) + add).StoreUnsafe(ref destination, (nuint)(7 * destinationStride));
    }
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
/// framework's (float)Half gives for all 65,536 patterns. The finite forms (<c>OddFinite</c>, <c>EvenFinite</c>) skip
/// that fix-up: with it a k step of the 512-bit panel kernel widens its 32 rows in 11 integer operations, without it
/// in 5. Encoder at enfr-1024, interleaved A/B in one process, 2 threads, AMD EPYC Zen 5 (two runs): 1.05x at
/// T = 8, 1.03-1.06x at 16, 1.02-1.03x at 32, 1.00-1.01x at 128 and 512; with 256 bits forced 1.14-1.42x at T = 8
/// and 1.05x at 16; with 128 bits 1.21x at T = 8 and 1.06x at 16.
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
    public static Vector128<float> OddUnscaled(Vector128<int> pairs) => Special(OddFinite(pairs).AsInt32());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> EvenUnscaled(Vector128<int> pairs) => OddUnscaled(pairs << 16);

    /// <summary>The odd values of finite pairs, unscaled: no fix-up of exponent 31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> OddFinite(Vector128<int> pairs) => ((pairs >> 3) & Vector128.Create(Mask)).AsSingle();

    /// <summary>The even values of finite pairs, unscaled: no fix-up of exponent 31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> EvenFinite(Vector128<int> pairs) => OddFinite(pairs << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Odd(Vector256<int> pairs) => OddUnscaled(pairs) * Vector256.Create(Scale);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Even(Vector256<int> pairs) => Odd(pairs << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> OddUnscaled(Vector256<int> pairs) => Special(OddFinite(pairs).AsInt32());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> EvenUnscaled(Vector256<int> pairs) => OddUnscaled(pairs << 16);

    /// <summary>The odd values of finite pairs, unscaled: no fix-up of exponent 31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> OddFinite(Vector256<int> pairs) => ((pairs >> 3) & Vector256.Create(Mask)).AsSingle();

    /// <summary>The even values of finite pairs, unscaled: no fix-up of exponent 31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> EvenFinite(Vector256<int> pairs) => OddFinite(pairs << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Odd(Vector512<int> pairs) => OddUnscaled(pairs) * Vector512.Create(Scale);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Even(Vector512<int> pairs) => Odd(pairs << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> OddUnscaled(Vector512<int> pairs) => Special(OddFinite(pairs).AsInt32());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> EvenUnscaled(Vector512<int> pairs) => OddUnscaled(pairs << 16);

    /// <summary>The odd values of finite pairs, unscaled: no fix-up of exponent 31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> OddFinite(Vector512<int> pairs) => ((pairs >> 3) & Vector512.Create(Mask)).AsSingle();

    /// <summary>The even values of finite pairs, unscaled: no fix-up of exponent 31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> EvenFinite(Vector512<int> pairs) => OddFinite(pairs << 16);

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

    /// <summary>
    /// The index of the first infinity or NaN (fp16 exponent 31) in <paramref name="values"/>, or -1: what lets the
    /// panel kernels widen with <see cref="ISimd{TVec}.LoadFiniteHalfPairs"/>. Two vectorized range searches per
    /// 32 KB chunk (positive and negative patterns), the second reading the chunk from cache: 12.7 ms for the
    /// 151 MB of enfr-1024's block Linears on one AMD EPYC Zen 5 core once the pages are mapped.
    /// </summary>
    public static int IndexOfNonFinite(ReadOnlySpan<Half> values)
    {
        const int Chunk = 16384;
        var bits = MemoryMarshal.Cast<Half, ushort>(values);
        for (int start = 0; start < bits.Length; start += Chunk)
        {
            var chunk = bits.Slice(start, Math.Min(Chunk, bits.Length - start));
            int positive = chunk.IndexOfAnyInRange((ushort)0x7C00, (ushort)0x7FFF);
            int negative = chunk.IndexOfAnyInRange((ushort)0xFC00, (ushort)0xFFFF);
            if (positive >= 0 || negative >= 0)
                return start + (positive < 0 ? negative : negative < 0 ? positive : Math.Min(positive, negative));
        }
        return -1;
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
    public static void LoadFiniteHalfPairs(ref readonly Half source, out Vector128<float> even, out Vector128<float> odd)
    {
        var pairs = Vector128.LoadUnsafe(in Unsafe.As<Half, int>(ref Unsafe.AsRef(in source)));
        even = HalfBits.EvenFinite(pairs);
        odd = HalfBits.OddFinite(pairs);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MaxNative(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Deinterleave(Vector128<float> a, Vector128<float> b, out Vector128<float> even, out Vector128<float> odd)
    {
        if (Sse.IsSupported)
        {
            even = Sse.Shuffle(a, b, 0x88);
            odd = Sse.Shuffle(a, b, 0xDD);
        }
        else if (AdvSimd.Arm64.IsSupported)
        {
            even = AdvSimd.Arm64.UnzipEven(a, b);
            odd = AdvSimd.Arm64.UnzipOdd(a, b);
        }
        else
        {
            even = Vector128.Create(a.GetElement(0), a.GetElement(2), b.GetElement(0), b.GetElement(2));
            odd = Vector128.Create(a.GetElement(1), a.GetElement(3), b.GetElement(1), b.GetElement(3));
        }
    }

    public static int BlockSize => 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransposeBlock(ref float source, nint sourceStride, ref float destination, nint destinationStride, ref readonly float addend) =>
        Transposes.Transpose4x4(ref source, sourceStride, ref destination, destinationStride, in addend);
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
    public static void LoadFiniteHalfPairs(ref readonly Half source, out Vector256<float> even, out Vector256<float> odd)
    {
        var pairs = Vector256.LoadUnsafe(in Unsafe.As<Half, int>(ref Unsafe.AsRef(in source)));
        even = HalfBits.EvenFinite(pairs);
        odd = HalfBits.OddFinite(pairs);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MaxNative(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Deinterleave(Vector256<float> a, Vector256<float> b, out Vector256<float> even, out Vector256<float> odd)
    {
        if (Avx2.IsSupported)
        {
            // Per 128-bit lane (a0 a2 b0 b2 | a4 a6 b4 b6), then the 64-bit quarters put back in order.
            even = Avx2.Permute4x64(Avx.Shuffle(a, b, 0x88).AsDouble(), 0xD8).AsSingle();
            odd = Avx2.Permute4x64(Avx.Shuffle(a, b, 0xDD).AsDouble(), 0xD8).AsSingle();
            return;
        }
        Simd128.Deinterleave(a.GetLower(), a.GetUpper(), out var evenA, out var oddA);
        Simd128.Deinterleave(b.GetLower(), b.GetUpper(), out var evenB, out var oddB);
        even = Vector256.Create(evenA, evenB);
        odd = Vector256.Create(oddA, oddB);
    }

    public static int BlockSize => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransposeBlock(ref float source, nint sourceStride, ref float destination, nint destinationStride, ref readonly float addend) =>
        Transposes.Transpose8x8(ref source, sourceStride, ref destination, destinationStride, in addend);
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
    public static void LoadFiniteHalfPairs(ref readonly Half source, out Vector512<float> even, out Vector512<float> odd)
    {
        var pairs = Vector512.LoadUnsafe(in Unsafe.As<Half, int>(ref Unsafe.AsRef(in source)));
        even = HalfBits.EvenFinite(pairs);
        odd = HalfBits.OddFinite(pairs);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MaxNative(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Deinterleave(Vector512<float> a, Vector512<float> b, out Vector512<float> even, out Vector512<float> odd)
    {
        if (Avx512F.IsSupported)
        {
            // vpermt2ps: indices 0..15 pick from a, 16..31 from b.
            even = Avx512F.PermuteVar16x32x2(a, Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
            odd = Avx512F.PermuteVar16x32x2(a, Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
            return;
        }
        Simd256.Deinterleave(a.GetLower(), a.GetUpper(), out var evenA, out var oddA);
        Simd256.Deinterleave(b.GetLower(), b.GetUpper(), out var evenB, out var oddB);
        even = Vector512.Create(evenA, evenB);
        odd = Vector512.Create(oddA, oddB);
    }

    /// <summary>8: a 16 × 16 block would need 16 zmm registers of source alone; the 8 × 8 AVX one serves this width too.</summary>
    public static int BlockSize => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransposeBlock(ref float source, nint sourceStride, ref float destination, nint destinationStride, ref readonly float addend) =>
        Transposes.Transpose8x8(ref source, sourceStride, ref destination, destinationStride, in addend);
}
