#if !NET9_0_OR_GREATER
// net8.0 stand-ins for the .NET 9 types the library uses, so the package also serves net8.0 apps
// (Godot 4, LTS services). Each is slower than what it replaces; the README says by how much.

namespace XlmEdge
{
    /// <summary>net8.0 stand-in for a span-keyed <c>AlternateLookup</c>: each lookup makes a string.</summary>
    internal readonly struct SpanKeyedLookup<TValue>(IReadOnlyDictionary<string, TValue> dictionary)
    {
        public bool TryGetValue(ReadOnlySpan<char> key, out TValue value) => dictionary.TryGetValue(key.ToString(), out value!);
    }

    /// <summary>net8.0 stand-in for a span-keyed <c>HashSet.AlternateLookup</c>: each lookup makes a string.</summary>
    internal readonly struct SpanKeyedSet(IReadOnlySet<string> set)
    {
        public bool Contains(ReadOnlySpan<char> key) => set.Contains(key.ToString());
    }
}
#endif

#if !NET9_0_OR_GREATER
namespace XlmEdge.Kernels
{
    using System.Runtime.Intrinsics;
    using System.Runtime.Intrinsics.Arm;
    using System.Runtime.Intrinsics.X86;

    /// <summary>
    /// net8.0 stand-ins for the .NET 9 vector methods the kernels call (C# 14 static extension members,
    /// so the kernels' source is the same for both targets): fused multiply-add with one rounding,
    /// float-to-int conversion by truncation (the kernels only convert whole numbers), and the maximum.
    /// </summary>
    internal static class Net8VectorExtensions
    {
        extension(Vector128)
        {
            public static Vector128<float> FusedMultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
                Fma.IsSupported ? Fma.MultiplyAdd(a, b, c)
                : AdvSimd.IsSupported ? AdvSimd.FusedMultiplyAdd(c, a, b)
                : Vector128.Create(MathF.FusedMultiplyAdd(a[0], b[0], c[0]), MathF.FusedMultiplyAdd(a[1], b[1], c[1]),
                    MathF.FusedMultiplyAdd(a[2], b[2], c[2]), MathF.FusedMultiplyAdd(a[3], b[3], c[3]));

            public static Vector128<int> ConvertToInt32Native(Vector128<float> v) => Vector128.ConvertToInt32(v);

            public static Vector128<T> MaxNative<T>(Vector128<T> a, Vector128<T> b) => Vector128.Max(a, b);
        }

        extension(Vector256)
        {
            public static Vector256<float> FusedMultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
                Fma.IsSupported ? Fma.MultiplyAdd(a, b, c)
                : Vector256.Create(Vector128.FusedMultiplyAdd(a.GetLower(), b.GetLower(), c.GetLower()),
                    Vector128.FusedMultiplyAdd(a.GetUpper(), b.GetUpper(), c.GetUpper()));

            public static Vector256<int> ConvertToInt32Native(Vector256<float> v) => Vector256.ConvertToInt32(v);

            public static Vector256<T> MaxNative<T>(Vector256<T> a, Vector256<T> b) => Vector256.Max(a, b);
        }

        extension(Vector512)
        {
            public static Vector512<float> FusedMultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) =>
                Avx512F.IsSupported ? Avx512F.FusedMultiplyAdd(a, b, c)
                : Vector512.Create(Vector256.FusedMultiplyAdd(a.GetLower(), b.GetLower(), c.GetLower()),
                    Vector256.FusedMultiplyAdd(a.GetUpper(), b.GetUpper(), c.GetUpper()));

            public static Vector512<int> ConvertToInt32Native(Vector512<float> v) => Vector512.ConvertToInt32(v);

            public static Vector512<T> MaxNative<T>(Vector512<T> a, Vector512<T> b) => Vector512.Max(a, b);
        }
    }
}
#endif
