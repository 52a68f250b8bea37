using System.Runtime.Intrinsics;
using XlmEdge.Kernels;

namespace XlmEdge.Tests.Kernels;

public class TilingTests
{
    [Theory]
    [InlineData(32 * 1024, 2 * 8 + 6, 256)]   // AVX2, 32 KB L1: the size measured best there
    [InlineData(48 * 1024, 2 * 8 + 6, 256)]
    [InlineData(48 * 1024, 2 * 16 + 12, 128)] // AVX-512 with 12-row groups
    [InlineData(128 * 1024, 2 * 4 + 6, 512)]  // large L1 (Apple-class cores): capped
    [InlineData(4 * 1024, 2 * 16 + 12, 64)]   // tiny L1: floored
    public void KSliceFillsAtMostThreeQuartersOfL1(int l1, int floatsPerK, int expected) =>
        Assert.Equal(expected, Tiling<Simd256, Vector256<float>>.SliceFor(l1, floatsPerK));

    [Fact]
    public void TilesAreConsistentOnEveryWidth()
    {
        Check<Simd128, Vector128<float>>(6);
        Check<Simd256, Vector256<float>>(6);
        Check<Simd512, Vector512<float>>(12);

        static void Check<TS, TVec>(int rows) where TS : struct, ISimd<TVec> where TVec : struct
        {
            Assert.Equal(rows, Tiling<TS, TVec>.Rows);
            int slice = Tiling<TS, TVec>.KSlice;
            Assert.True(slice is 64 or 128 or 256 or 512, $"K-slice {slice}");
            Assert.Equal(0, slice % (2 * TS.Count)); // pair order's chunks never straddle a slice
            Assert.Equal(0, Tiling<TS, TVec>.MaxRowsPerItem % rows);
            Assert.InRange(Tiling<TS, TVec>.MaxRowsPerItem, rows, 4 * rows);
        }
    }

    [Theory]
    [InlineData("48K", 48 * 1024)]
    [InlineData("1024K", 1024 * 1024)]
    [InlineData("2M", 2 * 1024 * 1024)]
    [InlineData("65536", 65536)]
    public void ParsesSysfsSizes(string text, int bytes) => Assert.Equal(bytes, CacheSizes.ParseSize(text));

    [Fact]
    public void ReadsDataAndUnifiedCachesFromSysfsAndSkipsInstructionCaches()
    {
        var root = Directory.CreateTempSubdirectory("xlmedge-cache-");
        try
        {
            Write(root.FullName, "index0", 1, "Data", "48K");
            Write(root.FullName, "index1", 1, "Instruction", "32K");
            Write(root.FullName, "index2", 2, "Unified", "1024K");
            Write(root.FullName, "index3", 3, "Unified", "32768K");
            var found = CacheSizes.FromSysfs(root.FullName);
            Assert.Equal((48 * 1024, 1024 * 1024, "sysfs"), found);
            Assert.Null(CacheSizes.FromSysfs(Path.Combine(root.FullName, "missing")));
            Write(root.FullName, "index0", 1, "Data", "forty-eight");
            Assert.Null(CacheSizes.FromSysfs(root.FullName));
        }
        finally
        {
            root.Delete(recursive: true);
        }

        static void Write(string root, string index, int level, string type, string size)
        {
            var folder = Directory.CreateDirectory(Path.Combine(root, index)).FullName;
            File.WriteAllText(Path.Combine(folder, "level"), $"{level}\n");
            File.WriteAllText(Path.Combine(folder, "type"), $"{type}\n");
            File.WriteAllText(Path.Combine(folder, "size"), $"{size}\n");
        }
    }

    [Fact]
    public void MachineCachesArePlausible()
    {
        Assert.InRange(CacheSizes.L1Data, 4 * 1024, 1024 * 1024);
        Assert.InRange(CacheSizes.L2, 64 * 1024, 256 * 1024 * 1024);
        Assert.Contains(CacheSizes.Source, new[] { "sysfs", "cpuid", "default" });
    }
}
