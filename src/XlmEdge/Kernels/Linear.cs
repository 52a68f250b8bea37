using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace XlmEdge.Kernels;

/// <summary>How the fp16 kernels widen W, chosen per call and fixed at JIT time through a type argument.</summary>
internal interface IHalfWidening
{
    /// <summary>True: W values come out times 2^-112 (one multiply less per vector) and x was scaled by 2^112.</summary>
    static abstract bool Unscaled { get; }
}

internal readonly struct ScaledHalves : IHalfWidening
{
    public static bool Unscaled => false;
}

internal readonly struct UnscaledHalves : IHalfWidening
{
    public static bool Unscaled => true;
}

/// <summary>
/// y[T,N] = x[T,K] · W[N,K]^T + bias[N], optionally followed by GELU: every nn.Linear of the model.
/// W is the HF layout (rows = outputs, along K), fp16 (converted in registers) or fp32.
/// </summary>
/// <remarks>
/// Three strategies, all splitting the output rows N across the pool (items claimed dynamically); the tile
/// sizes are <see cref="Tiling{TS, TVec}"/>'s, from the width and this machine's caches:
/// <list type="bullet">
/// <item>Few tokens (T &lt; <see cref="GemvTokens"/>, e.g. the output projection at the mask positions):
/// memory-bound; stream each W row once, widen it in registers and dot it with one or two token rows
/// (in L1).</item>
/// <item>Otherwise a register-tiled GEMM: x is packed once per call into k-major panels of 2 vectors of
/// tokens ([K][2·lanes], zero padded); each work item takes a block of up to four groups of W rows and,
/// one K-slice at a time (prefetching the next), widens them into an fp32 buffer, then runs each token
/// panel against every group of rows with <see cref="MicroKernels.Kernel{TS, TVec}"/> (6 rows and 12
/// accumulators with AVX2, 12 rows and 24 with AVX-512, W values broadcast against the panel). Results hold y transposed (tokens along lanes)
/// in per-worker scratch; the item's epilogue writes y rows with the bias added and applies GELU.</item>
/// <item>fp16 weights and a single token panel (T ≤ 2·lanes, the fill-mask sizes): the same packing and
/// items, but each 6-row group runs over the whole of K in one call of <see cref="SinglePanelKernel"/>,
/// which widens the next K-slice while computing the current one (Linear.SinglePanel.cs).</item>
/// </list>
/// fp16 rows are widened in even/odd pairs (<see cref="ISimd{TVec}.LoadHalfPairs"/>), so the x side is
/// packed in the same "pair order" (<see cref="CopyRow"/>); the sums are the same terms in another order.
/// When max |x| &lt; <see cref="UnscaledLimit"/>, W is widened without its final ×2^112 and x is packed
/// times 2^112 instead: the same products bit for bit, one multiply less per widened vector.
/// Per call: the pool's shared buffer holds the packed x, its per-worker scratch the W slice and y tile.
/// </remarks>
internal static partial class Linear
{
    /// <summary>Below this many tokens the GEMV strategy wins (no padding of token panels).</summary>
    internal const int GemvTokens = 4;

    /// <summary>How many rows ahead the GEMV asks for W: enough in flight to cover DRAM latency.</summary>
    internal const int GemvPrefetchRows = 4;

    /// <summary>
    /// Per-worker floats for widened W: the single-panel kernel's double buffer, or an item's slice for the
    /// GEMM (K-slices and rows per item follow the caches: <see cref="Tiling{TS, TVec}"/>).
    /// </summary>
    private static int ScratchW<TS, TVec>() where TS : struct, ISimd<TVec> where TVec : struct =>
        Math.Max(Tiling<TS, TVec>.MaxRowsPerItem, 2 * SinglePanelRows) * Tiling<TS, TVec>.KSlice;

    /// <summary>Below this max |x| the fp16 paths widen W unscaled and scale x by 2^112 instead (x·2^112 stays finite).</summary>
    internal const float UnscaledLimit = 65536f;

    /// <summary>y = x·W^T + bias with fp16 weights.</summary>
    public static void Forward(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<Half> w, int N, ReadOnlySpan<float> bias, Span<float> y, Activation activation = Activation.None) =>
        Forward(CpuFeatures.Selected, pool, x, T, K, w, N, bias, y, activation);

    /// <summary>y = x·W^T + bias with fp32 weights (files packed with --dtype f32).</summary>
    public static void Forward(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<float> w, int N, ReadOnlySpan<float> bias, Span<float> y, Activation activation = Activation.None) =>
        Forward(CpuFeatures.Selected, pool, x, T, K, w, N, bias, y, activation);

    internal static void Forward(SimdPath path, WorkerPool pool, ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<Half> w, int N, ReadOnlySpan<float> bias, Span<float> y, Activation activation = Activation.None) =>
        Dispatch(path, pool, x, T, K, w, N, bias, y, activation);

    internal static void Forward(SimdPath path, WorkerPool pool, ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<float> w, int N, ReadOnlySpan<float> bias, Span<float> y, Activation activation = Activation.None) =>
        Dispatch(path, pool, x, T, K, w, N, bias, y, activation);

    /// <summary>The scalar twin, for fp16 or fp32 weights: one dot product per output, in K order.</summary>
    internal static void ForwardScalar<TW>(ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<TW> w, int N, ReadOnlySpan<float> bias, Span<float> y, Activation activation = Activation.None)
        where TW : unmanaged
    {
        Validate(x, T, K, w.Length, N, bias, y);
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++)
            {
                float sum = 0;
                for (int k = 0; k < K; k++)
                    sum += x[t * K + k] * Widen(w[n * K + k]);
                y[t * N + n] = Finish(sum, bias, n, activation);
            }
    }

    private static float Finish(float sum, ReadOnlySpan<float> bias, int n, Activation activation)
    {
        if (!bias.IsEmpty)
            sum += bias[n];
        return activation == Activation.Gelu ? Activations.GeluScalar(sum) : sum;
    }

    private static void Validate(ReadOnlySpan<float> x, int T, int K, int wLength, int N, ReadOnlySpan<float> bias, Span<float> y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(T);
        ArgumentOutOfRangeException.ThrowIfLessThan(K, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(N, 1);
        if (x.Length < (long)T * K)
            throw new ArgumentException($"x holds {x.Length} floats; T*K = {(long)T * K} needed.", nameof(x));
        if (wLength < (long)N * K)
            throw new ArgumentException($"W holds {wLength} values; N*K = {(long)N * K} needed.", "w");
        if (!bias.IsEmpty && bias.Length < N)
            throw new ArgumentException($"bias holds {bias.Length} floats; N = {N} needed.", nameof(bias));
        if (y.Length < (long)T * N)
            throw new ArgumentException($"y holds {y.Length} floats; T*N = {(long)T * N} needed.", nameof(y));
    }

    private static void Dispatch<TW>(SimdPath path, WorkerPool pool, ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<TW> w, int N, ReadOnlySpan<float> bias, Span<float> y, Activation activation)
        where TW : unmanaged
    {
        Validate(x, T, K, w.Length, N, bias, y);
        if (T == 0)
            return;
        switch (path)
        {
            case SimdPath.Vector512: Run<Simd512, Vector512<float>, TW>(pool, x, T, K, w, N, bias, y, activation); break;
            case SimdPath.Vector256: Run<Simd256, Vector256<float>, TW>(pool, x, T, K, w, N, bias, y, activation); break;
            case SimdPath.Vector128: Run<Simd128, Vector128<float>, TW>(pool, x, T, K, w, N, bias, y, activation); break;
            default: ForwardScalar(x, T, K, w, N, bias, y, activation); break;
        }
    }

    private static void Run<TS, TVec, TW>(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<TW> w, int N, ReadOnlySpan<float> bias, Span<float> y, Activation activation)
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged
    {
        // Scaling x by 2^112 and W by nothing gives every product exactly the value it had before (powers
        // of two), so the results are bit for bit the same; only a huge x (|x| >= 65536, which times 2^112
        // overflows) keeps the scaled widening. NaN or infinite x gives the same outputs either way.
        if (T < GemvTokens)
        {
            // (MaxMagnitude returns the signed value; NaN fails the comparison.)
            if (typeof(TW) == typeof(Half) && Math.Abs(TensorPrimitives.MaxMagnitude(x[..(T * K)])) < UnscaledLimit)
                RunGemv<TS, TVec, TW, UnscaledHalves>(pool, x, T, K, w, N, bias, y, activation);
            else
                RunGemv<TS, TVec, TW, ScaledHalves>(pool, x, T, K, w, N, bias, y, activation);
            return;
        }

        int panelWidth = 2 * TS.Count;
        int panels = (T + panelWidth - 1) / panelWidth;
        if (typeof(TW) != typeof(Half))
        {
            var plain = Pack<TS, TVec>(pool, x, T, K, pairOrder: false, scale: 1f);
            RunGemm<TS, TVec, TW, ScaledHalves>(pool, plain, T, K, w, N, bias, y, activation, panels);
            return;
        }
        // Packing x times 2^112 also finds max |x|; the rare x that would overflow is packed again unscaled.
        var packed = Pack<TS, TVec>(pool, x, T, K, pairOrder: true, HalfBits.Scale, out float max);
        if (max < UnscaledLimit)
        {
            RunGemm<TS, TVec, TW, UnscaledHalves>(pool, packed, T, K, w, N, bias, y, activation, panels);
            return;
        }
        packed = Pack<TS, TVec>(pool, x, T, K, pairOrder: true, 1f);
        RunGemm<TS, TVec, TW, ScaledHalves>(pool, packed, T, K, w, N, bias, y, activation, panels);
    }

    private static void RunGemv<TS, TVec, TW, TH>(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<TW> w, int N, ReadOnlySpan<float> bias, Span<float> y, Activation activation)
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged where TH : struct, IHalfWidening
    {
        if (typeof(TW) == typeof(Half))
        {
            var ordered = pool.Shared(T * K);
            ToPairOrder(x, T, K, TS.Count, TH.Unscaled ? HalfBits.Scale : 1f, ordered);
            x = ordered;
        }
        var gemv = new GemvJob<TS, TVec, TW, TH>
        {
            X = x, W = w, Bias = bias, Y = y, T = T, K = K, N = N, Activation = activation,
            RowsPerItem = RowsPerItem(N, 4, pool.Threads, 256),
        };
#if NET9_0_OR_GREATER
        pool.For((N + gemv.RowsPerItem - 1) / gemv.RowsPerItem, ref gemv);
#else
        // net8.0 has no ref struct type arguments: the job cannot reach the pool and runs on this thread.
        for (int item = 0, items = (N + gemv.RowsPerItem - 1) / gemv.RowsPerItem; item < items; item++)
            gemv.Execute(item, 0);
#endif
    }

    private static void RunGemm<TS, TVec, TW, TH>(WorkerPool pool, ReadOnlySpan<float> packed, int T, int K, ReadOnlySpan<TW> w, int N, ReadOnlySpan<float> bias, Span<float> y, Activation activation, int panels)
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged where TH : struct, IHalfWidening
    {
        var gemm = Gemm<TS, TVec, TW, TH>(pool, packed, T, K, w, N, bias, y, activation, panels);
#if NET9_0_OR_GREATER
        pool.For(gemm.Items, ref gemm);
#else
        // net8.0 has no ref struct type arguments: the job cannot reach the pool and runs on this thread.
        for (int item = 0, items = gemm.Items; item < items; item++)
            gemm.Execute(item, 0);
#endif
    }

    /// <summary>The GEMM job over x packed into <paramref name="panels"/> panels, with the pool's scratch grown for it.</summary>
    private static GemmJob<TS, TVec, TW, TH> Gemm<TS, TVec, TW, TH>(WorkerPool pool, ReadOnlySpan<float> packed, int T, int K, ReadOnlySpan<TW> w, int N, ReadOnlySpan<float> bias, Span<float> y, Activation activation, int panels)
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged where TH : struct, IHalfWidening
    {
        int paddedT = panels * 2 * TS.Count;
        // Multiples of the kernel's rows (6 or 12), so also of the single-panel kernel's 6.
        int rowsPerItem = RowsPerItem(N, Tiling<TS, TVec>.Rows, pool.Threads, Tiling<TS, TVec>.MaxRowsPerItem);
        int scratchW = ScratchW<TS, TVec>();
        pool.EnsureScratch(checked(scratchW + rowsPerItem * paddedT));
        return new GemmJob<TS, TVec, TW, TH>
        {
            Pool = pool, Packed = packed, W = w, Bias = bias, Y = y, T = T, K = K, N = N, Activation = activation,
            RowsPerItem = rowsPerItem, KSlice = Tiling<TS, TVec>.KSlice, ScratchW = scratchW, Panels = panels, PaddedT = paddedT,
        };
    }

    private static ReadOnlySpan<float> Pack<TS, TVec>(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, bool pairOrder, float scale)
        where TS : struct, ISimd<TVec> where TVec : struct =>
        Pack<TS, TVec>(pool, x, T, K, pairOrder, scale, out _);

    /// <summary>
    /// x [T,K] -> panels [panels][K][2·lanes] in the pool's shared buffer (see <see cref="PackJob{TS, TVec}"/>),
    /// split across the pool by panel and K-slice. <paramref name="max"/>: the largest |x| (a NaN in x may or
    /// may not show in it; the outputs are the same either way).
    /// </summary>
    private static ReadOnlySpan<float> Pack<TS, TVec>(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, bool pairOrder, float scale, out float max)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        int panelWidth = 2 * TS.Count;
        int panels = (T + panelWidth - 1) / panelWidth;
        int kSlice = Tiling<TS, TVec>.KSlice;
        int slices = (K + kSlice - 1) / kSlice;
        int length = checked(panels * K * panelWidth);
        // One max per item after the panels: no item writes where another does.
        var shared = pool.Shared(checked(length + panels * slices));
        var job = new PackJob<TS, TVec> { X = x, Packed = shared[..length], Maxima = shared[length..], T = T, K = K, KSlice = kSlice, PairOrder = pairOrder, Scale = scale, Slices = slices };
#if NET9_0_OR_GREATER
        pool.For(panels * slices, ref job);
#else
        // net8.0 has no ref struct type arguments: the job cannot reach the pool and runs on this thread.
        for (int item = 0, items = panels * slices; item < items; item++)
            job.Execute(item, 0);
#endif
        max = 0;
        foreach (float m in shared[length..])
            max = Math.Max(max, m);
        return shared[..length];
    }

    /// <summary>Rows per work item: a multiple of <paramref name="granule"/>, at most <paramref name="max"/>, and small enough for ~4 items per thread.</summary>
    private static int RowsPerItem(int N, int granule, int threads, int max)
    {
        int target = (N + 4 * threads - 1) / (4 * threads);
        int rows = (target + granule - 1) / granule * granule;
        return Math.Clamp(rows, granule, max);
    }

    /// <summary>
    /// Packs panel p, k in [s·KSlice, (s+1)·KSlice) of x times Scale for item
    /// p·Slices + s: token t of panel p at lane t - p·2·lanes, missing tokens 0; with PairOrder the k axis
    /// is in pair order (fp16 weights). Records the item's max |x| in Maxima.
    /// </summary>
    private ref struct PackJob<TS, TVec> : IParallelJob where TS : struct, ISimd<TVec> where TVec : struct
    {
        public ReadOnlySpan<float> X;
        public Span<float> Packed, Maxima;
        public int T, K, KSlice, Slices;
        public bool PairOrder;
        public float Scale;

        public readonly void Execute(int index, int worker)
        {
            int p = index / Slices, k0 = index % Slices * KSlice, kc = Math.Min(KSlice, K - k0);
            int width = 2 * TS.Count, first = p * width, count = Math.Min(width, T - first);
            var block = Packed.Slice((p * K + k0) * width, kc * width);
            if (count < width)
                block.Clear();
            ref float destination = ref MemoryMarshal.GetReference(block);
            float max = 0;
            int j = 0;
            for (; j + TS.BlockSize <= count; j += TS.BlockSize)
                max = Math.Max(max, CopyRows<TS, TVec>(ref Unsafe.AsRef(in X[(first + j) * K + k0]), K, kc, PairOrder, Scale, ref Unsafe.Add(ref destination, j)));
            for (; j < count; j++)
                max = Math.Max(max, CopyRow(X.Slice((first + j) * K + k0, kc), kc, PairOrder ? TS.Count : 0, Scale, ref Unsafe.Add(ref destination, j), width));
            Maxima[index] = max;
        }
    }

    /// <summary>
    /// <see cref="CopyRow"/> for <see cref="ISimd{TVec}.BlockSize"/> rows (stride <paramref name="K"/>) into as
    /// many lanes of a panel of 2·lanes: per chunk of 2·lanes values, each row's even and odd values are split
    /// apart in registers (pair order), and the chunk is transposed into the panel block by block instead of
    /// stored one value at a time. Returns the rows' largest |value| (NaN is not propagated: an x with NaN
    /// gives NaN outputs either way).
    /// </summary>
    private static float CopyRows<TS, TVec>(ref float x, int K, int count, bool pairOrder, float scale, ref float destination)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        int n = TS.Count, chunk = 2 * n, rows = TS.BlockSize, width = chunk;
        Span<float> tileSpan = stackalloc float[8 * 32]; // rows x chunk: 4 x 8, 8 x 16 or 8 x 32
        ref float tile = ref MemoryMarshal.GetReference(tileSpan);
        ref readonly float noAddend = ref MemoryMarshal.GetReference(Transposes.NegativeZeros);
        var factor = TS.Broadcast(scale);
        var max = TS.Zero;
        int k = 0;
        for (; k + chunk <= count; k += chunk)
        {
            for (int r = 0; r < rows; r++)
            {
                ref float source = ref Unsafe.Add(ref x, (nint)r * K + k);
                var low = TS.Load(in source);
                var high = TS.Load(in Unsafe.Add(ref source, n));
                max = TS.MaxNative(TS.Abs(low), max);
                max = TS.MaxNative(TS.Abs(high), max);
                if (pairOrder)
                    TS.Deinterleave(low, high, out low, out high);
                TS.Store(TS.Multiply(low, factor), ref Unsafe.Add(ref tile, r * chunk));
                TS.Store(TS.Multiply(high, factor), ref Unsafe.Add(ref tile, r * chunk + n));
            }
            for (int c = 0; c < chunk; c += rows)
                TS.TransposeBlock(ref Unsafe.Add(ref tile, c), chunk, ref Unsafe.Add(ref destination, (k + c) * width), width, in noAddend);
        }
        float result = TS.MaxAcross(max);
        if (k < count)
        {
            // The tail, shorter than a chunk, stays in place in pair order too.
            for (int r = 0; r < rows; r++)
                result = Math.Max(result, CopyRow(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref x, (nint)r * K + k), count - k), count - k, 0, scale, ref Unsafe.Add(ref destination, k * width + r), width));
        }
        return result;
    }

    /// <summary>Adds the bias and applies the activation to y[t, n0 .. n0+count) for every token.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Epilogue<TS, TVec>(Span<float> y, int T, int N, int n0, int count, ReadOnlySpan<float> bias, Activation activation)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        for (int t = 0; t < T; t++)
        {
            var row = y.Slice(t * N + n0, count);
            if (!bias.IsEmpty)
            {
                ref float r = ref MemoryMarshal.GetReference(row);
                ref float b = ref Unsafe.Add(ref MemoryMarshal.GetReference(bias), n0);
                int i = 0;
                for (; i <= count - TS.Count; i += TS.Count)
                    TS.Store(TS.Add(TS.Load(in Unsafe.Add(ref r, i)), TS.Load(in Unsafe.Add(ref b, i))), ref Unsafe.Add(ref r, i));
                for (; i < count; i++)
                    Unsafe.Add(ref r, i) += Unsafe.Add(ref b, i);
            }
            if (activation == Activation.Gelu)
                Activations.Gelu<TS, TVec>(row);
        }
    }

    /// <summary>
    /// Few tokens: each item streams a block of W rows front to back (one sequential stream, which the
    /// hardware prefetcher follows best), widening each W vector once for up to two tokens.
    /// </summary>
    private ref struct GemvJob<TS, TVec, TW, TH> : IParallelJob where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged where TH : struct, IHalfWidening
    {
        public ReadOnlySpan<float> X, Bias;
        public ReadOnlySpan<TW> W;
        public Span<float> Y;
        public int T, K, N, RowsPerItem;
        public Activation Activation;

        public readonly void Execute(int index, int worker)
        {
            int N = this.N, K = this.K, n0 = index * RowsPerItem, count = Math.Min(RowsPerItem, N - n0);
            ref float x0 = ref MemoryMarshal.GetReference(X);
            ref TW w0 = ref MemoryMarshal.GetReference(W);
            ref float y0 = ref MemoryMarshal.GetReference(Y);
            for (int n = n0; n < n0 + count; n++)
            {
                ref TW wn = ref Unsafe.Add(ref w0, (nint)n * K);
                if (n + GemvPrefetchRows < N)
                    Prefetch.Rows(ref Unsafe.Add(ref wn, (nint)GemvPrefetchRows * K), 1, K, 0, K);
                int t = 0;
                for (; t < T - 1; t += 2)
                {
                    ref float xa = ref Unsafe.Add(ref x0, t * K);
                    ref float xb = ref Unsafe.Add(ref x0, (t + 1) * K);
                    var (first, second) = typeof(TW) == typeof(Half)
                        ? DotPair<TS, TVec, TH>(ref Unsafe.As<TW, Half>(ref wn), ref xa, ref xb, K)
                        : DotPair<TS, TVec>(ref Unsafe.As<TW, float>(ref wn), ref xa, ref xb, K);
                    Unsafe.Add(ref y0, t * N + n) = first;
                    Unsafe.Add(ref y0, (t + 1) * N + n) = second;
                }
                if (t < T)
                {
                    ref float xa = ref Unsafe.Add(ref x0, t * K);
                    Unsafe.Add(ref y0, t * N + n) = typeof(TW) == typeof(Half)
                        ? Dot<TS, TVec, TH>(ref Unsafe.As<TW, Half>(ref wn), ref xa, K)
                        : Dot<TS, TVec>(ref Unsafe.As<TW, float>(ref wn), ref xa, K);
                }
            }
            Epilogue<TS, TVec>(Y, T, N, n0, count, Bias, Activation);
        }
    }

    /// <summary>Σ_k w[k]·x[k], fp32 weights, four independent accumulators (FMA latency × throughput needs them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot<TS, TVec>(ref float w, ref float x, int K) where TS : struct, ISimd<TVec> where TVec : struct
    {
        int n = TS.Count, k = 0;
        TVec a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero;
        for (; k <= K - 4 * n; k += 4 * n)
        {
            a0 = TS.MultiplyAdd(TS.Load(in Unsafe.Add(ref w, k)), TS.Load(in Unsafe.Add(ref x, k)), a0);
            a1 = TS.MultiplyAdd(TS.Load(in Unsafe.Add(ref w, k + n)), TS.Load(in Unsafe.Add(ref x, k + n)), a1);
            a2 = TS.MultiplyAdd(TS.Load(in Unsafe.Add(ref w, k + 2 * n)), TS.Load(in Unsafe.Add(ref x, k + 2 * n)), a2);
            a3 = TS.MultiplyAdd(TS.Load(in Unsafe.Add(ref w, k + 3 * n)), TS.Load(in Unsafe.Add(ref x, k + 3 * n)), a3);
        }
        for (; k <= K - n; k += n)
            a0 = TS.MultiplyAdd(TS.Load(in Unsafe.Add(ref w, k)), TS.Load(in Unsafe.Add(ref x, k)), a0);
        float sum = TS.Sum(TS.Add(TS.Add(a0, a1), TS.Add(a2, a3)));
        for (; k < K; k++)
            sum += Unsafe.Add(ref w, k) * Unsafe.Add(ref x, k);
        return sum;
    }

    /// <summary>Two fp32-weight dot products sharing each W load.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float First, float Second) DotPair<TS, TVec>(ref float w, ref float x, ref float z, int K) where TS : struct, ISimd<TVec> where TVec : struct
    {
        int n = TS.Count, k = 0;
        TVec a0 = TS.Zero, a1 = TS.Zero, b0 = TS.Zero, b1 = TS.Zero;
        for (; k <= K - 2 * n; k += 2 * n)
        {
            var w0 = TS.Load(in Unsafe.Add(ref w, k));
            var w1 = TS.Load(in Unsafe.Add(ref w, k + n));
            a0 = TS.MultiplyAdd(w0, TS.Load(in Unsafe.Add(ref x, k)), a0);
            b0 = TS.MultiplyAdd(w0, TS.Load(in Unsafe.Add(ref z, k)), b0);
            a1 = TS.MultiplyAdd(w1, TS.Load(in Unsafe.Add(ref x, k + n)), a1);
            b1 = TS.MultiplyAdd(w1, TS.Load(in Unsafe.Add(ref z, k + n)), b1);
        }
        float first = TS.Sum(TS.Add(a0, a1)), second = TS.Sum(TS.Add(b0, b1));
        for (; k < K; k++)
        {
            float wk = Unsafe.Add(ref w, k);
            first += wk * Unsafe.Add(ref x, k);
            second += wk * Unsafe.Add(ref z, k);
        }
        return (first, second);
    }

    /// <summary>
    /// Σ_k w[k]·x[k] with fp16 weights widened in even/odd pairs; <paramref name="x"/> is in pair order
    /// (see <see cref="CopyRow"/>). Four independent accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot<TS, TVec, TH>(ref Half w, ref float x, int K) where TS : struct, ISimd<TVec> where TVec : struct where TH : struct, IHalfWidening
    {
        nint n = TS.Count, chunk = 2 * n, k = 0;
        TVec a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero;
        for (; k <= K - 2 * chunk; k += 2 * chunk)
        {
            LoadPairs<TS, TVec, TH>(in Unsafe.Add(ref w, k), out var e0, out var o0);
            LoadPairs<TS, TVec, TH>(in Unsafe.Add(ref w, k + chunk), out var e1, out var o1);
            a0 = TS.MultiplyAdd(e0, TS.Load(in Unsafe.Add(ref x, k)), a0);
            a1 = TS.MultiplyAdd(o0, TS.Load(in Unsafe.Add(ref x, k + n)), a1);
            a2 = TS.MultiplyAdd(e1, TS.Load(in Unsafe.Add(ref x, k + chunk)), a2);
            a3 = TS.MultiplyAdd(o1, TS.Load(in Unsafe.Add(ref x, k + chunk + n)), a3);
        }
        for (; k <= K - chunk; k += chunk)
        {
            LoadPairs<TS, TVec, TH>(in Unsafe.Add(ref w, k), out var e0, out var o0);
            a0 = TS.MultiplyAdd(e0, TS.Load(in Unsafe.Add(ref x, k)), a0);
            a1 = TS.MultiplyAdd(o0, TS.Load(in Unsafe.Add(ref x, k + n)), a1);
        }
        float sum = TS.Sum(TS.Add(TS.Add(a0, a1), TS.Add(a2, a3)));
        for (; k < K; k++)
            sum += Widen<TH>(Unsafe.Add(ref w, k)) * Unsafe.Add(ref x, k);
        return sum;
    }

    /// <summary>Two fp16-weight dot products sharing each widened W vector; x and z in pair order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float First, float Second) DotPair<TS, TVec, TH>(ref Half w, ref float x, ref float z, int K) where TS : struct, ISimd<TVec> where TVec : struct where TH : struct, IHalfWidening
    {
        nint n = TS.Count, chunk = 2 * n, k = 0;
        TVec a0 = TS.Zero, a1 = TS.Zero, b0 = TS.Zero, b1 = TS.Zero;
        for (; k <= K - chunk; k += chunk)
        {
            LoadPairs<TS, TVec, TH>(in Unsafe.Add(ref w, k), out var even, out var odd);
            a0 = TS.MultiplyAdd(even, TS.Load(in Unsafe.Add(ref x, k)), a0);
            b0 = TS.MultiplyAdd(even, TS.Load(in Unsafe.Add(ref z, k)), b0);
            a1 = TS.MultiplyAdd(odd, TS.Load(in Unsafe.Add(ref x, k + n)), a1);
            b1 = TS.MultiplyAdd(odd, TS.Load(in Unsafe.Add(ref z, k + n)), b1);
        }
        float first = TS.Sum(TS.Add(a0, a1)), second = TS.Sum(TS.Add(b0, b1));
        for (; k < K; k++)
        {
            float wk = Widen<TH>(Unsafe.Add(ref w, k));
            first += wk * Unsafe.Add(ref x, k);
            second += wk * Unsafe.Add(ref z, k);
        }
        return (first, second);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadPairs<TS, TVec, TH>(ref readonly Half source, out TVec even, out TVec odd)
        where TS : struct, ISimd<TVec> where TVec : struct where TH : struct, IHalfWidening
    {
        if (TH.Unscaled)
            TS.LoadHalfPairsUnscaled(in source, out even, out odd);
        else
            TS.LoadHalfPairs(in source, out even, out odd);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Widen<TH>(Half value) where TH : struct, IHalfWidening =>
        TH.Unscaled ? HalfBits.ToSingleUnscaled(value) : HalfBits.ToSingle(value);

    /// <summary>
    /// Copies one row of K values, times <paramref name="scale"/>, to <paramref name="destination"/> (element stride
    /// <paramref name="stride"/>) in pair order, or in plain order when <paramref name="lanes"/> is 0, and
    /// returns the row's largest |value| before scaling (NaN if it holds one).
    /// Pair order: within each chunk of 2·lanes values the even-indexed ones come first, then the
    /// odd-indexed ones (the order <see cref="ISimd{TVec}.LoadHalfPairs"/> produces); a tail shorter
    /// than a chunk stays in place.
    /// </summary>
    private static float CopyRow(ReadOnlySpan<float> row, int K, int lanes, float scale, ref float destination, int stride)
    {
        float max = 0;
        int k = 0;
        if (lanes > 0)
        {
            int chunk = 2 * lanes;
            for (; k <= K - chunk; k += chunk)
                for (int j = 0; j < chunk; j++)
                {
                    float value = row[k + j];
                    max = Math.Max(max, Math.Abs(value));
                    Unsafe.Add(ref destination, (k + (j & 1) * lanes + (j >> 1)) * stride) = value * scale;
                }
        }
        for (; k < K; k++)
        {
            max = Math.Max(max, Math.Abs(row[k]));
            Unsafe.Add(ref destination, k * stride) = row[k] * scale;
        }
        return max;
    }

    /// <summary>x [T,K] -> the same rows with each row's values in pair order.</summary>
    internal static void ToPairOrder(ReadOnlySpan<float> x, int T, int K, int lanes, float scale, Span<float> ordered)
    {
        for (int t = 0; t < T; t++)
            CopyRow(x.Slice(t * K, K), K, lanes, scale, ref ordered[t * K], 1);
    }

    /// <summary>Many tokens: register-tiled GEMM over a block of W rows (see the class remarks).</summary>
    private ref struct GemmJob<TS, TVec, TW, TH> : IParallelJob where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged where TH : struct, IHalfWidening
    {
        public WorkerPool Pool;
        public ReadOnlySpan<float> Packed, Bias;
        public ReadOnlySpan<TW> W;
        public Span<float> Y;
        public int T, K, N, RowsPerItem, KSlice, ScratchW, Panels, PaddedT;
        public Activation Activation;

        /// <summary>Work items: blocks of <see cref="RowsPerItem"/> output rows.</summary>
        public readonly int Items => (N + RowsPerItem - 1) / RowsPerItem;

        public readonly void Execute(int index, int worker)
        {
            int n0 = index * RowsPerItem, count = Math.Min(RowsPerItem, N - n0);
            int K = this.K, kSlice = KSlice, panelWidth = 2 * TS.Count, paddedT = PaddedT, groupRows = Tiling<TS, TVec>.Rows;
            var scratch = Pool.Scratch(worker, ScratchW + RowsPerItem * paddedT);
            ref float slice = ref MemoryMarshal.GetReference(scratch);
            ref float yt = ref Unsafe.Add(ref slice, ScratchW);
            ref float packed = ref MemoryMarshal.GetReference(Packed);
            ref TW w0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(W), (nint)n0 * K);
            int lastPanelTokens = T - (Panels - 1) * panelWidth;

            if (typeof(TW) == typeof(Half) && Panels == 1)
            {
                ref Half h0 = ref Unsafe.As<TW, Half>(ref w0);
                for (int r = 0; r < count; r += SinglePanelRows)
                {
                    int rows = Math.Min(SinglePanelRows, count - r);
                    // No software prefetch here: six rows read front to back are streams the hardware
                    // prefetcher follows, and asking for the next group's first slices (and, in the kernel,
                    // for the slice after next) measured 1-4 % slower at T = 8 and 16 (interleaved A/B).
                    ref Half wr = ref Unsafe.Add(ref h0, (nint)r * K);
                    ref float yr = ref Unsafe.Add(ref yt, r * paddedT);
                    if (lastPanelTokens <= TS.Count)
                        SinglePanelKernel<TS, TVec, TH, OneVector>(ref wr, K, kSlice, rows, ref packed, ref slice, ref yr, paddedT);
                    else
                        SinglePanelKernel<TS, TVec, TH, TwoVectors>(ref wr, K, kSlice, rows, ref packed, ref slice, ref yr, paddedT);
                }
                WriteOutput(ref yt, n0, count);
                return;
            }

            for (int k0 = 0; k0 < K; k0 += kSlice)
            {
                int kc = Math.Min(kSlice, K - k0);
                bool accumulate = k0 > 0;
                if (k0 + kSlice < K)
                    Prefetch.Rows(ref w0, count, K, k0 + kSlice, Math.Min(kSlice, K - k0 - kSlice));
                else if (n0 + RowsPerItem < N) // the next item of this worker's range (WorkerPool claims it in order)
                    Prefetch.Rows(ref Unsafe.Add(ref w0, (nint)RowsPerItem * K), Math.Min(count, N - n0 - RowsPerItem), K, 0, kSlice);
                // The item's whole W slice first (fp16: widened, RowsPerItem x KSlice floats), then panel by
                // panel every group of rows against it: the token panel (16 KB at AVX2) stays in L1 for
                // all the groups, and the kernel streams the smaller operand, 6 or 12 broadcasts per k step,
                // from L1 or L2 instead of 2 panel vectors.
                ref float wr = ref Unsafe.NullRef<float>();
                int wStride;
                if (typeof(TW) == typeof(Half))
                {
                    WidenSlice<TS, TVec, TH>(ref Unsafe.As<TW, Half>(ref w0), K, count, k0, kc, ref slice, kSlice, 0);
                    wr = ref slice;
                    wStride = kSlice;
                }
                else
                {
                    wr = ref Unsafe.As<TW, float>(ref Unsafe.Add(ref w0, k0));
                    wStride = K;
                }
                for (int p = 0; p < Panels; p++)
                {
                    ref float panel = ref Unsafe.Add(ref packed, ((nint)p * K + k0) * panelWidth);
                    bool narrow = p == Panels - 1 && lastPanelTokens <= TS.Count;
                    for (int r = 0; r < count; r += groupRows)
                    {
                        int rows = Math.Min(groupRows, count - r);
                        ref float wg = ref Unsafe.Add(ref wr, (nint)r * wStride);
                        ref float yr = ref Unsafe.Add(ref yt, r * paddedT + p * panelWidth);
                        if (narrow)
                            MicroKernels.NarrowKernel<TS, TVec>(ref wg, wStride, rows, ref panel, kc, ref yr, paddedT, accumulate);
                        else
                            MicroKernels.Kernel<TS, TVec>(ref wg, wStride, rows, ref panel, kc, ref yr, paddedT, accumulate);
                    }
                }
            }

            WriteOutput(ref yt, n0, count);
        }

        /// <summary>y[t, n0 + r] = yt[r, t] + bias, then the activation.</summary>
        private readonly void WriteOutput(ref float yt, int n0, int count)
        {
            Transpose<TS, TVec>(ref yt, PaddedT, ref Unsafe.Add(ref MemoryMarshal.GetReference(Y), n0), N, count, T, Bias.IsEmpty ? default : Bias[n0..]);
            Epilogue<TS, TVec>(Y, T, N, n0, count, default, Activation);
        }
    }

    /// <summary>
    /// y[t, r] = yt[r, t] + bias[r] for r &lt; <paramref name="rows"/>, t &lt; <paramref name="tokens"/> (no
    /// bias when it is empty): square blocks shuffled in registers (<see cref="ISimd{TVec}.TransposeBlock"/>)
    /// where both sides have a block left (a scalar copy reads yt 64 bytes apart per value, about 4 % of a
    /// T = 128 forward pass), the edges one value at a time. Adding the bias here saves a pass over y.
    /// </summary>
    private static void Transpose<TS, TVec>(ref float yt, int ytStride, ref float y, int yStride, int rows, int tokens, ReadOnlySpan<float> bias)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        // -0 is the identity of addition (x + -0 = x for every x, -0 included), so "no bias" adds -0.
        ref float b = ref MemoryMarshal.GetReference(bias);
        bool hasBias = !bias.IsEmpty;
        ref readonly float noAddend = ref MemoryMarshal.GetReference(Transposes.NegativeZeros);
        int block = TS.BlockSize, r0 = 0;
        for (; r0 <= rows - block; r0 += block)
        {
            ref readonly float addend = ref hasBias ? ref Unsafe.Add(ref b, r0) : ref noAddend;
            int t0 = 0;
            for (; t0 <= tokens - block; t0 += block)
                TS.TransposeBlock(ref Unsafe.Add(ref yt, r0 * ytStride + t0), ytStride, ref Unsafe.Add(ref y, (nint)t0 * yStride + r0), yStride, in addend);
            for (int t = t0; t < tokens; t++)
                for (int r = r0; r < r0 + block; r++)
                    Unsafe.Add(ref y, (nint)t * yStride + r) = Unsafe.Add(ref yt, r * ytStride + t) + (hasBias ? Unsafe.Add(ref b, r) : -0f);
        }
        for (int t = 0; t < tokens; t++)
            for (int r = r0; r < rows; r++)
                Unsafe.Add(ref y, (nint)t * yStride + r) = Unsafe.Add(ref yt, r * ytStride + t) + (hasBias ? Unsafe.Add(ref b, r) : -0f);
    }

    /// <summary>
    /// fp16 -> fp32 of one row slice in pair order. Slices start at multiples of the K-slice
    /// (a multiple of every chunk size), so slice-local and row-global pair order agree.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WidenPairs<TS, TVec, TH>(ref Half source, int count, ref float destination) where TS : struct, ISimd<TVec> where TVec : struct where TH : struct, IHalfWidening
    {
        nint n = TS.Count, k = 0;
        for (; k <= count - 2 * n; k += 2 * n)
        {
            LoadPairs<TS, TVec, TH>(in Unsafe.Add(ref source, k), out var even, out var odd);
            TS.Store(even, ref Unsafe.Add(ref destination, k));
            TS.Store(odd, ref Unsafe.Add(ref destination, k + n));
        }
        for (; k < count; k++)
            Unsafe.Add(ref destination, k) = Widen<TH>(Unsafe.Add(ref source, k));
    }
}
