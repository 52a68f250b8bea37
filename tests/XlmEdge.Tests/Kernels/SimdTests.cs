using System.Runtime.Intrinsics;
using XlmEdge.Kernels;

namespace XlmEdge.Tests.Kernels;

/// <summary>The width abstraction's shuffles against their definitions, on every width.</summary>
public class SimdTests
{
    [Fact]
    public void TransposeBlockMatchesItsDefinitionOnEveryWidth()
    {
        Check<Simd128, Vector128<float>>();
        Check<Simd256, Vector256<float>>();
        Check<Simd512, Vector512<float>>();

        static void Check<TS, TVec>() where TS : struct, ISimd<TVec> where TVec : struct
        {
            int b = TS.BlockSize;
            var random = new Random(b);
            const int SourceStride = 13, DestinationStride = 11;
            var source = KernelData.Floats(random, SourceStride * b + 3);
            var addend = KernelData.Floats(random, b);
            var destination = new float[DestinationStride * b + 2];
            TS.TransposeBlock(ref source[1], SourceStride, ref destination[2], DestinationStride, in addend[0]);
            for (int i = 0; i < b; i++)
                for (int j = 0; j < b; j++)
                    Assert.Equal(source[1 + j * SourceStride + i] + addend[j], destination[2 + i * DestinationStride + j]);
            Assert.Equal(0f, destination[0]);
            Assert.Equal(0f, destination[1]);
        }
    }

    [Fact]
    public void DeinterleaveSplitsEvenAndOddValuesOnEveryWidth()
    {
        Check<Simd128, Vector128<float>>();
        Check<Simd256, Vector256<float>>();
        Check<Simd512, Vector512<float>>();

        static void Check<TS, TVec>() where TS : struct, ISimd<TVec> where TVec : struct
        {
            int n = TS.Count;
            var values = Enumerable.Range(0, 2 * n).Select(i => (float)i).ToArray();
            TS.Deinterleave(TS.Load(in values[0]), TS.Load(in values[n]), out var even, out var odd);
            var e = new float[n];
            var o = new float[n];
            TS.Store(even, ref e[0]);
            TS.Store(odd, ref o[0]);
            Assert.Equal(Enumerable.Range(0, n).Select(i => (float)(2 * i)), e);
            Assert.Equal(Enumerable.Range(0, n).Select(i => (float)(2 * i + 1)), o);
        }
    }
}
