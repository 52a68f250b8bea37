namespace XlmEdge.Kernels;

/// <summary>
/// The GEMM tiles of one width, from its register file and this machine's caches (<see cref="CacheSizes"/>),
/// fixed once per process (static readonly: the JIT folds them into the kernels as constants).
/// </summary>
internal static class Tiling<TS, TVec> where TS : struct, ISimd<TVec> where TVec : struct
{
    /// <summary>
    /// Rows of the broadcast operand per micro-kernel call: 12 on the 512-bit path (24 accumulators of
    /// the 32 registers AVX-512 has), 6 on the narrower ones (12 accumulators of AVX2's 16).
    /// </summary>
    public static readonly int Rows = TS.Count >= 16 ? 12 : 6;

    /// <summary>
    /// K values per slice: the largest power of two from 64 to 512 for which a token panel (2·lanes floats per
    /// k) and one group of <see cref="Rows"/> widened W rows fill at most three quarters of L1, the rest being
    /// left to the output tile and the lines of the next rows. 256 with AVX2 on a 32 KB L1, the size that
    /// measured best there (128 measured slower); 128 with AVX-512 on 48 KB.
    /// </summary>
    public static readonly int KSlice = SliceFor(CacheSizes.L1Data, 2 * TS.Count + Rows);

    /// <summary>Most W rows per GEMM work item: four groups, fewer if their widened slice would pass a quarter of L2.</summary>
    public static readonly int MaxRowsPerItem = Math.Max(Rows, Math.Min(4 * Rows, CacheSizes.L2 / 4 / (KSlice * sizeof(float)) / Rows * Rows));

    /// <summary>
    /// K values per slice of a weight panel (<see cref="Linear.Panels{TS, TVec, TW}(WorkerPool, ReadOnlySpan{float}, int, int, ReadOnlySpan{TW}, int, ReadOnlySpan{float}, Span{float}, Activation)"/>): 128 bytes
    /// per k (a 32-row fp32 panel, or a 512-bit token panel of x) within half of L2, a multiple of 64 from 256
    /// to 4096. On the Zen 5 (1 MB L2, interleaved A/B, quiet) half of L2 (4096: every enfr-1024 Linear in one
    /// slice) against a quarter (2048) made the encoder 1.03x faster at T = 512, 1.015x at 256 and 1.03x at 128;
    /// 256 and 512 were 3-4 % slower than 2048. Since every block re-widens fp16 W in registers, slices of 512
    /// and 1024 measured 0.95-1.01x of 4096 at T = 16, 64 and 256.
    /// </summary>
    public static readonly int PanelSlice = Math.Clamp(CacheSizes.L2 / 2 / (PanelLayout.Rows * sizeof(float)) / 64 * 64, 256, 4096);

    internal static int SliceFor(int l1Bytes, int floatsPerK)
    {
        int slice = 512;
        while (slice > 64 && slice * floatsPerK * sizeof(float) > l1Bytes * 3 / 4)
            slice /= 2;
        return slice;
    }
}
