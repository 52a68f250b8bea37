using XlmEdge.Kernels;

namespace XlmEdge.Tests.Kernels;

public class ActivationTests
{
    [Fact]
    public void ReferenceErfcMatchesKnownIdentities()
    {
        // erfc(0) = 1, erfc(-z) = 2 - erfc(z), and series and continued fraction agree where they meet.
        Assert.Equal(1.0, KernelData.Erfc(0), 15);
        Assert.Equal(2 - KernelData.Erfc(1.3), KernelData.Erfc(-1.3), 15);
        double below = KernelData.Erfc(2 - 1e-12), above = KernelData.Erfc(2);
        Assert.True(Math.Abs(below - above) < 1e-13, $"{below} vs {above}"); // far below the 1e-6 the GELU test checks
        // erfc(1) = 0.157299207050285130658... (Abramowitz & Stegun table 7.1)
        Assert.Equal(0.15729920705028513, KernelData.Erfc(1), 15);
    }

    [Theory]
    [MemberData(nameof(KernelData.Paths), MemberType = typeof(KernelData))]
    public void GeluIsWithin1e6OfExactOnDenseGridAndRandomValues(string width)
    {
        var path = Enum.Parse<SimdPath>(width);
        var inputs = new List<float>();
        for (int i = -200_000; i <= 200_000; i++)
            inputs.Add(i * 5e-5f);
        var random = new Random(7);
        for (int i = 0; i < 100_000; i++)
            inputs.Add((float)(random.NextDouble() * 20 - 10));
        inputs.AddRange([-1e4f, -100f, -30f, 30f, 100f, 1e4f, 0f, -0f, 1e-30f, -1e-30f]);
        var x = inputs.ToArray();
        Activations.Gelu(path, x);
        double worst = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double exact = KernelData.Gelu(inputs[i]);
            double error = Math.Abs(x[i] - exact);
            Assert.True(error <= 1e-6 * Math.Max(1, Math.Abs(exact) / 10), $"GELU({inputs[i]:R}) = {x[i]:R}, exact {exact:R} ({path})");
            if (Math.Abs(inputs[i]) <= 10)
                worst = Math.Max(worst, error);
        }
        Assert.True(worst <= 1e-6, $"worst error on [-10, 10]: {worst}");
    }

    /// <summary>Every fp16 bit pattern (infinities and NaNs included), then one more for an odd length.</summary>
    private static Half[] EveryHalf(int multipleOf)
    {
        var all = new List<Half>();
        for (int bits = 0; bits < 65536; bits++)
            all.Add(BitConverter.UInt16BitsToHalf((ushort)bits));
        all.Add((Half)1.5f);
        while (all.Count % multipleOf != 0)
            all.Add((Half)(-2.5f));
        return [.. all];
    }

    private static void AssertSameBits(Half source, float widened, string what) =>
        Assert.True(BitConverter.SingleToInt32Bits((float)source) == BitConverter.SingleToInt32Bits(widened),
            $"{what}: fp16 0x{BitConverter.HalfToUInt16Bits(source):X4} -> 0x{BitConverter.SingleToInt32Bits(widened):X8}, (float)Half gives 0x{BitConverter.SingleToInt32Bits((float)source):X8}");

    /// <summary>Embedding rows are widened by TensorPrimitives.ConvertToSingle: exact, as (float)Half is, for every bit pattern.</summary>
    [Fact]
    public void EmbeddingRowWideningMatchesTheFrameworkOnEveryBitPattern()
    {
        var src = EveryHalf(1); // 65,537 values: the last goes through the library's scalar tail
        var dst = new float[src.Length];
        System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(src, dst);
        for (int i = 0; i < src.Length; i++)
            AssertSameBits(src[i], dst[i], "TensorPrimitives.ConvertToSingle");
    }

    [Fact]
    public void ScalarWideningMatchesTheFrameworkOnEveryBitPattern()
    {
        foreach (var h in EveryHalf(1))
        {
            AssertSameBits(h, HalfBits.ToSingle(h), "HalfBits.ToSingle");
            AssertSameBits(h, HalfBits.ToSingleUnscaled(h) * HalfBits.Scale, "HalfBits.ToSingleUnscaled x 2^112");
        }
    }

    [Fact]
    public void HalfPairsWidenEveryBitPatternAsTheScalarTwin()
    {
        var src = EveryHalf(32);
        Check<Simd128, System.Runtime.Intrinsics.Vector128<float>>(src);
        Check<Simd256, System.Runtime.Intrinsics.Vector256<float>>(src);
        Check<Simd512, System.Runtime.Intrinsics.Vector512<float>>(src);

        static void Check<TS, TVec>(Half[] src) where TS : struct, ISimd<TVec> where TVec : struct
        {
            var even = new float[TS.Count];
            var odd = new float[TS.Count];
            var evenUnscaled = new float[TS.Count];
            var oddUnscaled = new float[TS.Count];
            var evenFinite = new float[TS.Count];
            var oddFinite = new float[TS.Count];
            for (int i = 0; i < src.Length; i += 2 * TS.Count)
            {
                TS.LoadHalfPairs(in src[i], out var e, out var o);
                TS.Store(e, ref even[0]);
                TS.Store(o, ref odd[0]);
                TS.LoadHalfPairsUnscaled(in src[i], out e, out o);
                TS.Store(e, ref evenUnscaled[0]);
                TS.Store(o, ref oddUnscaled[0]);
                TS.LoadFiniteHalfPairs(in src[i], out e, out o);
                TS.Store(e, ref evenFinite[0]);
                TS.Store(o, ref oddFinite[0]);
                for (int j = 0; j < TS.Count; j++)
                {
                    AssertSameBits(src[i + 2 * j], even[j], $"{typeof(TS).Name} pairs (even)");
                    AssertSameBits(src[i + 2 * j + 1], odd[j], $"{typeof(TS).Name} pairs (odd)");
                    AssertSameBits(src[i + 2 * j], evenUnscaled[j] * HalfBits.Scale, $"{typeof(TS).Name} unscaled pairs (even)");
                    AssertSameBits(src[i + 2 * j + 1], oddUnscaled[j] * HalfBits.Scale, $"{typeof(TS).Name} unscaled pairs (odd)");
                    // The finite form: the same bits for every finite pattern; exponent 31 comes out finite, as documented.
                    foreach (var (h, widened) in (ReadOnlySpan<(Half, float)>)[(src[i + 2 * j], evenFinite[j]), (src[i + 2 * j + 1], oddFinite[j])])
                    {
                        if (Half.IsFinite(h))
                            AssertSameBits(h, widened * HalfBits.Scale, $"{typeof(TS).Name} finite pairs");
                        else
                            Assert.True(float.IsFinite(widened * HalfBits.Scale), $"{typeof(TS).Name} finite pairs of 0x{BitConverter.HalfToUInt16Bits(h):X4}");
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(0x7C00)]
    [InlineData(0x7E01)]
    [InlineData(0xFC00)]
    [InlineData(0xFFFF)]
    public void IndexOfNonFiniteFindsTheFirstInfinityOrNaNAnywhere(int pattern)
    {
        var random = new Random(pattern);
        var values = new Half[100_003]; // several 16,384-value chunks and a tail
        for (int i = 0; i < values.Length; i++)
            values[i] = BitConverter.UInt16BitsToHalf((ushort)(random.Next(0, 0x7C00) | (random.Next(2) << 15))); // every finite pattern can occur
        Assert.Equal(-1, HalfBits.IndexOfNonFinite(values));
        Assert.Equal(-1, HalfBits.IndexOfNonFinite([]));
        foreach (int at in (int[])[0, 16383, 16384, 50_000, values.Length - 1])
        {
            var copy = (Half[])values.Clone();
            copy[at] = BitConverter.UInt16BitsToHalf((ushort)pattern);
            Assert.Equal(at, HalfBits.IndexOfNonFinite(copy));
            // A later one in the other sign does not hide it, nor does an earlier one of the other sign come second.
            copy[^1] = BitConverter.UInt16BitsToHalf((ushort)(pattern ^ 0x8000));
            Assert.Equal(at, HalfBits.IndexOfNonFinite(copy));
        }
    }

    [Theory]
    [InlineData(1, 1, 4)]
    [InlineData(2, 16, 4)]
    [InlineData(3, 37, 8)]
    [InlineData(1, 1024, 16)]
    public void PairOrderGroupsEvenThenOddPerChunkAndKeepsTheTail(int T, int K, int lanes)
    {
        var x = Enumerable.Range(0, T * K).Select(i => (float)i).ToArray();
        var ordered = new float[T * K];
        Linear.ToPairOrder(x, T, K, lanes, 1f, ordered);
        int chunk = 2 * lanes, full = K - K % chunk;
        for (int t = 0; t < T; t++)
            for (int k = 0; k < K; k++)
            {
                int at = k < full ? k / chunk * chunk + k % 2 * lanes + k % chunk / 2 : k;
                Assert.Equal(x[t * K + k], ordered[t * K + at]);
            }
    }
}
