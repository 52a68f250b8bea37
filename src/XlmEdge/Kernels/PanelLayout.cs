namespace XlmEdge.Kernels;

/// <summary>
/// The pack-time layout of the blocks' Linear weights ("panels"): W [N, K] is stored as row panels of
/// <see cref="Rows"/> rows, each panel k-major, so a work item streams one contiguous run of memory
/// (64 KB per panel at K = 1024 in fp16) and a k step reads one 64-byte line holding all 32 rows.
/// </summary>
/// <remarks>
/// Panel p holds rows 32p .. 32p+31: for each k in order, 32 values. fp16 panels put row 32p + i at
/// position 2i and row 32p + 16 + i at position 2i + 1 (i &lt; 16), so that widening a run of 2·lanes
/// values in even/odd pairs (<see cref="ISimd{TVec}.LoadHalfPairs"/>) gives two vectors of consecutive
/// rows at any width; fp32 panels keep rows in order. The N mod 32 rows after the last full panel are
/// stored k-major too, in row order ([K][N mod 32]). The byte count is the row-major one, so the
/// tensor keeps its GGUF shape [N, K]; only the order of its values differs.
/// </remarks>
internal static class PanelLayout
{
    /// <summary>Rows per panel.</summary>
    public const int Rows = 32;

    /// <summary>Index of W[n, k] in the packed array (fp16 when <paramref name="pairs"/>, else fp32 order).</summary>
    public static long IndexOf(int n, int k, int N, int K, bool pairs)
    {
        int panel = n / Rows, full = N / Rows;
        long start = (long)panel * Rows * K;
        if (panel == full)
            return start + (long)k * (N - full * Rows) + (n - panel * Rows);
        int i = n - panel * Rows;
        int position = pairs ? (i < Rows / 2 ? 2 * i : 2 * (i - Rows / 2) + 1) : i;
        return start + (long)k * Rows + position;
    }

    /// <summary>The row and column of the value at <paramref name="index"/> of the packed array: the inverse of <see cref="IndexOf"/>.</summary>
    public static (int Row, int Column) RowAndColumnOf(long index, int N, int K, bool pairs)
    {
        int full = N / Rows, panel = (int)Math.Min(index / ((long)Rows * K), full);
        long offset = index - (long)panel * Rows * K;
        if (panel == full)
            return (panel * Rows + (int)(offset % (N - full * Rows)), (int)(offset / (N - full * Rows)));
        int position = (int)(offset % Rows), i = !pairs ? position : position % 2 == 0 ? position / 2 : Rows / 2 + position / 2;
        return (panel * Rows + i, (int)(offset / Rows));
    }

    /// <summary>Row-major W [N, K] -> panels (fp16: pair order within each k step).</summary>
    public static void Pack(ReadOnlySpan<Half> w, int N, int K, Span<Half> packed) => Pack(w, N, K, packed, pairs: true);

    /// <summary>Row-major W [N, K] -> panels (fp32: rows in order).</summary>
    public static void Pack(ReadOnlySpan<float> w, int N, int K, Span<float> packed) => Pack(w, N, K, packed, pairs: false);

    /// <summary>Panels -> row-major W [N, K] (the inverse of <see cref="Pack(ReadOnlySpan{Half}, int, int, Span{Half})"/>).</summary>
    public static void Unpack(ReadOnlySpan<Half> packed, int N, int K, Span<Half> w) => Unpack(packed, N, K, w, pairs: true);

    /// <summary>Panels -> row-major W [N, K] for fp32.</summary>
    public static void Unpack(ReadOnlySpan<float> packed, int N, int K, Span<float> w) => Unpack(packed, N, K, w, pairs: false);

    /// <summary>Row-major W [N, K] -> panels, fp16's pair order when <paramref name="pairs"/> (the weights tool permutes values before encoding them).</summary>
    internal static void Pack<T>(ReadOnlySpan<T> w, int N, int K, Span<T> packed, bool pairs)
    {
        Check(w.Length, packed.Length, N, K);
        Permute(w, packed, N, K, pairs, toPanels: true);
    }

    private static void Unpack<T>(ReadOnlySpan<T> packed, int N, int K, Span<T> w, bool pairs)
    {
        Check(w.Length, packed.Length, N, K);
        Permute(packed, w, N, K, pairs, toPanels: false);
    }

    /// <summary>Copies every W[n, k] between its row-major index and its panel index, in the direction <paramref name="toPanels"/> says.</summary>
    private static void Permute<T>(ReadOnlySpan<T> source, Span<T> destination, int N, int K, bool pairs, bool toPanels)
    {
        for (int n0 = 0; n0 < N; n0 += Rows)
        {
            int rows = Math.Min(Rows, N - n0);
            for (int r = 0; r < rows; r++)
            {
                int rowStart = (n0 + r) * K, panelStart = n0 * K + Position(r, rows, pairs);
                for (int k = 0; k < K; k++)
                {
                    int row = rowStart + k, panel = panelStart + k * rows;
                    if (toPanels)
                        destination[panel] = source[row];
                    else
                        destination[row] = source[panel];
                }
            }
        }
    }

    /// <summary>Where row <paramref name="r"/> of a panel of <paramref name="rows"/> rows sits within each k step.</summary>
    private static int Position(int r, int rows, bool pairs) =>
        rows < Rows || !pairs ? r : r < Rows / 2 ? 2 * r : 2 * (r - Rows / 2) + 1;

    private static void Check(int rowMajor, int packed, int N, int K)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(N, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(K, 1);
        long size = (long)N * K;
        if (size > int.MaxValue || rowMajor < size || packed < size)
            throw new ArgumentException($"W [{N}, {K}] needs {size} values on both sides; they hold {rowMajor} and {packed}.");
    }
}
