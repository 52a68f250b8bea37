using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace XlmEdge.Kernels;

internal static partial class Linear
{
    /// <summary>
    /// y = x·W^T + bias, then the activation, with W in panels (<see cref="PanelLayout"/>): the
    /// layout the weights tool writes for the blocks' Linears.
    /// </summary>
    /// <remarks>
    /// x is packed once into k-major token panels of 2·lanes (<see cref="Pack{TS, TVec}(WorkerPool, ReadOnlySpan{float}, int, int, bool, float, out float)"/>,
    /// natural k order; times 2^112 for fp16 weights, as the other kernels do). Each work item is one
    /// panel of 32 rows, read as one contiguous stream: <see cref="PanelKernels.Kernel"/> runs two vectors
    /// of rows against blocks of up to 12 tokens (6 below 512 bits), W along the lanes and tokens broadcast,
    /// so the sums land in y's own order (no transpose) and the epilogue adds the bias and applies GELU on
    /// whole vectors. The blocks' residuals are added by the LayerNorm that follows each Linear
    /// (<see cref="LayerNorm.AddNormalize{TS, TVec}(WorkerPool, Span{float}, ReadOnlySpan{float}, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, float)"/>):
    /// adding them in this epilogue instead measured the same at enfr-1024 (0.98-1.02x from T = 8 to 512, both
    /// builds in either order, the sign changing between repeats) and made the tiny geometry's encoder
    /// 1.05-1.07x slower at T = 16-128 (interleaved A/B of the two builds in one process, 2 threads, AMD EPYC
    /// Zen 5, 2026-12-01). Every block of tokens widens fp16 W in registers again (<see cref="HalfPanel{TH}"/>).
    /// Rows past the last full panel are a plain scalar loop. fp16 W must hold no infinity or NaN (the loader
    /// checks panel matrices with <see cref="HalfBits.IndexOfNonFinite"/>): full panels are widened without
    /// the fix-up of exponent 31.
    /// </remarks>
    internal static void Panels<TS, TVec, TW>(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<TW> w, int N,
        ReadOnlySpan<float> bias, Span<float> y, Activation activation)
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged
    {
        Validate(x, T, K, w.Length, N, bias, y);
        if (T == 0)
            return;
        var packed = PackForPanels<TS, TVec, TW>(pool, x, T, K, out bool unscaled);
        if (unscaled)
            RunPanels(pool, NewPanelJob<TS, TVec, TW, UnscaledHalves>(pool, packed, x, T, K, w, N, bias, y, activation));
        else
            RunPanels(pool, NewPanelJob<TS, TVec, TW, ScaledHalves>(pool, packed, x, T, K, w, N, bias, y, activation));
    }

    /// <summary>
    /// Three projections of one input with panel matrices of one shape (the attention's q, k and v): x is
    /// packed once and the three matrices' panels run as one pool call, so no thread idles at the end of
    /// the first two. Each result is bit for bit what <see cref="Panels{TS, TVec, TW}(WorkerPool, ReadOnlySpan{float}, int, int, ReadOnlySpan{TW}, int, ReadOnlySpan{float}, Span{float}, Activation)"/> gives.
    /// </summary>
    internal static void Panels<TS, TVec, TW>(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, int N, Projection<TW> a, Projection<TW> b, Projection<TW> c)
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged
    {
        Validate(x, T, K, a.W.Length, N, a.Bias, a.Y);
        Validate(x, T, K, b.W.Length, N, b.Bias, b.Y);
        Validate(x, T, K, c.W.Length, N, c.Bias, c.Y);
        if (T == 0)
            return;
        var packed = PackForPanels<TS, TVec, TW>(pool, x, T, K, out bool unscaled);
        if (unscaled)
            RunThreePanels<TS, TVec, TW, UnscaledHalves>(pool, packed, x, T, K, N, a, b, c);
        else
            RunThreePanels<TS, TVec, TW, ScaledHalves>(pool, packed, x, T, K, N, a, b, c);
    }

    /// <summary>
    /// x packed for the panel kernels: times 2^112 for fp16 weights (widened unscaled, <paramref name="unscaled"/>)
    /// unless that could overflow, in which case it is packed again as it is.
    /// </summary>
    private static ReadOnlySpan<float> PackForPanels<TS, TVec, TW>(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, out bool unscaled)
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged
    {
        unscaled = false;
        if (typeof(TW) != typeof(Half))
            return Pack<TS, TVec>(pool, x, T, K, pairOrder: false, scale: 1f);
        var packed = Pack<TS, TVec>(pool, x, T, K, pairOrder: false, HalfBits.Scale, out float max);
        if (max < UnscaledLimit)
        {
            unscaled = true;
            return packed;
        }
        return Pack<TS, TVec>(pool, x, T, K, pairOrder: false, 1f);
    }

    private static void RunThreePanels<TS, TVec, TW, TH>(WorkerPool pool, ReadOnlySpan<float> packed, ReadOnlySpan<float> x, int T, int K, int N, Projection<TW> a, Projection<TW> b, Projection<TW> c)
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged where TH : struct, IHalfWidening
    {
        var job = new ThreePanelJobs<TS, TVec, TW, TH>
        {
            First = NewPanelJob<TS, TVec, TW, TH>(pool, packed, x, T, K, a.W, N, a.Bias, a.Y, Activation.None),
            Second = NewPanelJob<TS, TVec, TW, TH>(pool, packed, x, T, K, b.W, N, b.Bias, b.Y, Activation.None),
            Third = NewPanelJob<TS, TVec, TW, TH>(pool, packed, x, T, K, c.W, N, c.Bias, c.Y, Activation.None),
        };
        int items = PanelItems(N);
#if NET9_0_OR_GREATER
        pool.For(3 * items, ref job);
#else
        // net8.0 has no ref struct type arguments: the job cannot reach the pool and runs on this thread.
        for (int item = 0; item < 3 * items; item++)
            job.Execute(item, 0);
#endif
    }

    /// <summary>Three panel jobs of one shape as one: item i of the whole is item i mod items of job i / items.</summary>
    private ref struct ThreePanelJobs<TS, TVec, TW, TH> : IParallelJob
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged where TH : struct, IHalfWidening
    {
        public PanelJob<TS, TVec, TW, TH> First, Second, Third;

        public readonly void Execute(int index, int worker)
        {
            int items = PanelItems(First.N);
            if (index < items)
                First.Execute(index, worker);
            else if (index < 2 * items)
                Second.Execute(index - items, worker);
            else
                Third.Execute(index - 2 * items, worker);
        }
    }

    /// <summary>Work items of one panel matrix: one per panel of 32 rows, and one for the rows after the last.</summary>
    private static int PanelItems(int N) => (N + PanelLayout.Rows - 1) / PanelLayout.Rows;

    /// <summary>y = x·W^T + bias, then the activation, with W in panels, on the width this process runs.</summary>
    internal static void ForwardPanels<TW>(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<TW> w, int N,
        ReadOnlySpan<float> bias, Span<float> y, Activation activation) where TW : unmanaged
    {
        switch (CpuFeatures.Selected)
        {
            case SimdPath.Vector512: Panels<Simd512, System.Runtime.Intrinsics.Vector512<float>, TW>(pool, x, T, K, w, N, bias, y, activation); break;
            case SimdPath.Vector256: Panels<Simd256, System.Runtime.Intrinsics.Vector256<float>, TW>(pool, x, T, K, w, N, bias, y, activation); break;
            case SimdPath.Vector128: Panels<Simd128, System.Runtime.Intrinsics.Vector128<float>, TW>(pool, x, T, K, w, N, bias, y, activation); break;
            default: PanelsScalar(x, T, K, w, N, bias, y, activation); break;
        }
    }

    /// <summary>q, k and v (three panel matrices of one shape, one input) on the width this process runs.</summary>
    internal static void ForwardPanels<TW>(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, int N, Projection<TW> a, Projection<TW> b, Projection<TW> c)
        where TW : unmanaged
    {
        switch (CpuFeatures.Selected)
        {
            case SimdPath.Vector512: Panels<Simd512, System.Runtime.Intrinsics.Vector512<float>, TW>(pool, x, T, K, N, a, b, c); break;
            case SimdPath.Vector256: Panels<Simd256, System.Runtime.Intrinsics.Vector256<float>, TW>(pool, x, T, K, N, a, b, c); break;
            case SimdPath.Vector128: Panels<Simd128, System.Runtime.Intrinsics.Vector128<float>, TW>(pool, x, T, K, N, a, b, c); break;
            default:
                PanelsScalar(x, T, K, a.W, N, a.Bias, a.Y, Activation.None);
                PanelsScalar(x, T, K, b.W, N, b.Bias, b.Y, Activation.None);
                PanelsScalar(x, T, K, c.W, N, c.Bias, c.Y, Activation.None);
                break;
        }
    }

    /// <summary>The scalar twin of <see cref="Panels{TS, TVec, TW}(WorkerPool, ReadOnlySpan{float}, int, int, ReadOnlySpan{TW}, int, ReadOnlySpan{float}, Span{float}, Activation)"/>: one dot product per output through <see cref="PanelLayout.IndexOf"/>.</summary>
    internal static void PanelsScalar<TW>(ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<TW> w, int N,
        ReadOnlySpan<float> bias, Span<float> y, Activation activation) where TW : unmanaged
    {
        Validate(x, T, K, w.Length, N, bias, y);
        bool pairs = typeof(TW) == typeof(Half);
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++)
            {
                float sum = 0;
                for (int k = 0; k < K; k++)
                    sum += x[t * K + k] * Widen(w[(int)PanelLayout.IndexOf(n, k, N, K, pairs)]);
                y[t * N + n] = Finish(sum, bias, n, activation);
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Widen<TW>(TW value) where TW : unmanaged =>
        typeof(TW) == typeof(Half) ? (float)Unsafe.As<TW, Half>(ref value) : Unsafe.As<TW, float>(ref value);

    /// <summary>Tokens per panel-kernel block: 24 accumulators of AVX-512's 32 registers, 12 of the 16 narrower paths have.</summary>
    internal static int PanelTokens<TS, TVec>() where TS : struct, ISimd<TVec> where TVec : struct => TS.Count >= 16 ? 12 : 6;

    /// <summary>
    /// Whether the panel kernels prefetch x as well as W: when the packed x (every token panel, all of K) takes
    /// more than half of L2, each panel's pass over it comes from L3, and the hardware prefetcher, following W's
    /// stream too, falls behind. Encoder, interleaved A/B, 2 threads, AMD EPYC Zen 5 (1 MB L2): 1.00x at
    /// T = 32, 1.035x at 64, 1.01x at 128, 1.03x at 160, 1.05x at 512; with the 256-bit path forced 1.00x at
    /// T = 16, 0.995x at 64, 1.03x at 128 and 512. Prefetching x at every size was 0.96-0.98x at T = 32 and 64.
    /// </summary>
    private static bool PrefetchesX(int paddedT, int K) => (long)paddedT * K * sizeof(float) > CacheSizes.L2 / 2;

    /// <summary>The job of one panel matrix, with the pool's scratch grown for it.</summary>
    private static PanelJob<TS, TVec, TW, TH> NewPanelJob<TS, TVec, TW, TH>(WorkerPool pool, ReadOnlySpan<float> packed, ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<TW> w, int N,
        ReadOnlySpan<float> bias, Span<float> y, Activation activation)
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged where TH : struct, IHalfWidening
    {
        int xWidth = 2 * TS.Count, paddedT = (T + xWidth - 1) / xWidth * xWidth;
        int slice = Math.Min(K, Tiling<TS, TVec>.PanelSlice), tile = checked(paddedT * PanelLayout.Rows);
        pool.EnsureScratch(tile);
        return new PanelJob<TS, TVec, TW, TH>
        {
            Pool = pool, Packed = packed, X = x, W = w, Bias = bias, Y = y, Activation = activation,
            T = T, K = K, N = N, PaddedT = paddedT, Slice = slice, Scratch = tile, PrefetchX = PrefetchesX(paddedT, K),
        };
    }

    private static void RunPanels<TS, TVec, TW, TH>(WorkerPool pool, PanelJob<TS, TVec, TW, TH> job)
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged where TH : struct, IHalfWidening
    {
#if NET9_0_OR_GREATER
        pool.For(PanelItems(job.N), ref job);
#else
        // net8.0 has no ref struct type arguments: the job cannot reach the pool and runs on this thread.
        for (int item = 0, items = PanelItems(job.N); item < items; item++)
            job.Execute(item, 0);
#endif
    }

    /// <summary>One panel of 32 rows per item (the rows after the last full panel are one more item).</summary>
    private ref struct PanelJob<TS, TVec, TW, TH> : IParallelJob
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged where TH : struct, IHalfWidening
    {
        public WorkerPool Pool;
        public ReadOnlySpan<float> Packed, X, Bias;
        public ReadOnlySpan<TW> W;
        public Span<float> Y;
        public Activation Activation;
        public int T, K, N, PaddedT, Slice, Scratch;
        public bool PrefetchX;

        public readonly void Execute(int index, int worker)
        {
            const int Rows = PanelLayout.Rows;
            int n0 = index * Rows, K = this.K;
            ref TW panel = ref Unsafe.Add(ref MemoryMarshal.GetReference(W), (nint)n0 * K);
            if (N - n0 < Rows)
            {
                TailPanel(ref panel, n0, N - n0);
                return;
            }
            // Each worker takes consecutive panels (WorkerPool claims a thread's own range in order), so the
            // kernels' prefetch 4 KB ahead runs on into the next panel's head by itself. An explicit prefetch of
            // that head, which paid 1.03-1.055x at T = 8-16 while a shared counter dealt every other panel,
            // now cost 3.4 % at T = 8 and 1.5-2 % at T = 16 (encoder, interleaved A/B, 2 threads, AMD EPYC Zen 5).
            int lanes = TS.Count, xWidth = 2 * lanes, subPanels = Rows / xWidth, T = this.T;
            var scratch = Pool.Scratch(worker, Scratch);
            ref float tile = ref MemoryMarshal.GetReference(scratch);
            ref float packed = ref MemoryMarshal.GetReference(Packed);
            for (int k0 = 0; k0 < K; k0 += Slice)
            {
                int kc = Math.Min(Slice, K - k0);
                bool accumulate = k0 > 0;
                if (typeof(TW) == typeof(Half))
                {
                    ref Half half = ref Unsafe.As<TW, Half>(ref Unsafe.Add(ref panel, (nint)k0 * Rows));
                    for (int q = 0; q < subPanels; q++)
                        Blocks<Half, HalfPanel<TH>>(ref Unsafe.Add(ref half, HalfPanel<TH>.Offset(q, lanes)), ref packed, k0, kc, ref Unsafe.Add(ref tile, lanes * q), accumulate);
                }
                else
                {
                    ref float single = ref Unsafe.As<TW, float>(ref Unsafe.Add(ref panel, (nint)k0 * Rows));
                    for (int q = 0; q < subPanels; q++)
                        Blocks<float, SinglePanel>(ref Unsafe.Add(ref single, SinglePanel.Offset(q, lanes)), ref packed, k0, kc, ref Unsafe.Add(ref tile, lanes * q), accumulate);
                }
            }
            for (int t = 0; t < T; t++)
                PanelEpilogue(ref Unsafe.Add(ref tile, t * Rows), t, n0);
        }

        /// <summary>Every block of tokens against one sub-panel's K-slice; each block widens fp16 W in registers again.</summary>
        /// <remarks>
        /// Re-widening wins at every T and width. Two ways were tried
        /// and dropped once the widening lost its infinity/NaN fix-up (five integer operations per k step at
        /// 512 bits instead of eleven): on 512 bits, widening once per K-slice in the first block and storing the
        /// fp32 rows for the others; on the narrower widths, widening each K-slice in a pass of its own into an
        /// fp32 buffer past 8 tokens. Encoder at enfr-1024, interleaved A/B in one process, 2 threads, AMD EPYC
        /// Zen 5, re-widening against them: 512 bits 1.10x at T = 13, 1.085x at 16, 1.02-1.05x at 20-48,
        /// 1.005-1.014x at 64-256, 1.07x at 512; 256 bits 1.24x at T = 12, 1.17x at 16, 1.10x at 24-32, 1.05x
        /// at 64, 1.03x at 512; 128 bits 1.08-1.12x at T = 12-16, 1.04x at 64.
        /// </remarks>
        private readonly void Blocks<TSource, TSrc>(ref TSource w, ref float packed, int k0, int kc, ref float tile, bool accumulate)
            where TSource : unmanaged where TSrc : struct, IPanelSource<TSource>
        {
            int xWidth = 2 * TS.Count, block = PanelTokens<TS, TVec>(), K = this.K;
            for (int p = 0; p * xWidth < T; p++)
            {
                ref float xPanel = ref Unsafe.Add(ref packed, ((nint)p * K + k0) * xWidth);
                for (int j0 = 0; j0 < xWidth && p * xWidth + j0 < T; j0 += block)
                {
                    // Tokens past T in the last x panel are zeros: a block may cover them, never past the panel.
                    int count = Math.Min(Math.Min(block, xWidth - j0), T - p * xWidth - j0);
                    ref float x = ref Unsafe.Add(ref xPanel, j0);
                    ref float t = ref Unsafe.Add(ref tile, (p * xWidth + j0) * PanelLayout.Rows);
                    Block<TSource, TSrc>(count, ref w, ref x, kc, ref t, accumulate);
                }
            }
        }

        /// <summary>One block of <paramref name="count"/> tokens through the panel kernel of that many (or the next size up).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly void Block<TSource, TSrc>(int count, ref TSource w, ref float x, int kc, ref float t, bool accumulate)
            where TSource : unmanaged where TSrc : struct, IPanelSource<TSource>
        {
            int xWidth = 2 * TS.Count, block = PanelTokens<TS, TVec>();
            if (count > 8 && block == 12)
                PanelKernels.Kernel<TS, TVec, TSource, TSrc, Tokens12>(ref w, ref x, xWidth, kc, ref t, accumulate, PrefetchX);
            else if (count > 6 && block == 12)
                PanelKernels.Kernel<TS, TVec, TSource, TSrc, Tokens8>(ref w, ref x, xWidth, kc, ref t, accumulate, PrefetchX);
            else if (count > 4)
                PanelKernels.Kernel<TS, TVec, TSource, TSrc, Tokens6>(ref w, ref x, xWidth, kc, ref t, accumulate, PrefetchX);
            else if (count > 2)
                PanelKernels.Kernel<TS, TVec, TSource, TSrc, Tokens4>(ref w, ref x, xWidth, kc, ref t, accumulate, PrefetchX);
            else if (count == 2)
                PanelKernels.Kernel<TS, TVec, TSource, TSrc, Tokens2>(ref w, ref x, xWidth, kc, ref t, accumulate, PrefetchX);
            else
                PanelKernels.Kernel<TS, TVec, TSource, TSrc, Tokens1>(ref w, ref x, xWidth, kc, ref t, accumulate, PrefetchX);
        }

        /// <summary>y[t, n0 .. n0+32) = tile row + bias, then the activation.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly void PanelEpilogue(ref float row, int t, int n0)
        {
            ref float y = ref Unsafe.Add(ref MemoryMarshal.GetReference(Y), (nint)t * N + n0);
            ref float b = ref Unsafe.Add(ref MemoryMarshal.GetReference(Bias), n0);
            bool hasBias = !Bias.IsEmpty, gelu = Activation == Activation.Gelu;
            if (gelu)
            {
                BiasGeluRow(ref row, ref b, hasBias, ref y);
                return;
            }
            for (int i = 0; i < PanelLayout.Rows; i += TS.Count)
            {
                var v = TS.Load(in Unsafe.Add(ref row, i));
                if (hasBias)
                    v = TS.Add(v, TS.Load(in Unsafe.Add(ref b, i)));
                TS.Store(v, ref Unsafe.Add(ref y, i));
            }
        }

        /// <summary>y[0 .. 32) = GELU(tile row + bias), two vectors at a time.</summary>
        /// <remarks>
        /// A method of its own so that GELU is inlined in it: called per vector from the job's large body, RyuJIT
        /// left GELU a call (2.2 % of the T = 512 encoder's samples), one dependency chain at a time. Encoder,
        /// interleaved A/B in one process, 2 threads, AMD EPYC Zen 5: 1.01-1.03x at T = 16, 1.02x at 64,
        /// 1.01-1.02x at 128 and 512; 1.005-1.01x with 256 bits (bit-identical results).
        /// </remarks>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void BiasGeluRow(ref float row, ref float b, bool hasBias, ref float y)
        {
            for (int i = 0; i < PanelLayout.Rows; i += 2 * TS.Count)
            {
                var v0 = TS.Load(in Unsafe.Add(ref row, i));
                var v1 = TS.Load(in Unsafe.Add(ref row, i + TS.Count));
                if (hasBias)
                {
                    v0 = TS.Add(v0, TS.Load(in Unsafe.Add(ref b, i)));
                    v1 = TS.Add(v1, TS.Load(in Unsafe.Add(ref b, i + TS.Count)));
                }
                TS.Store(Activations.Gelu<TS, TVec>(v0), ref Unsafe.Add(ref y, i));
                TS.Store(Activations.Gelu<TS, TVec>(v1), ref Unsafe.Add(ref y, i + TS.Count));
            }
        }

        /// <summary>The rows after the last full panel, stored [K][rows]: plain loops over the unpacked x.</summary>
        private readonly void TailPanel(ref TW tail, int n0, int rows)
        {
            int K = this.K;
            for (int t = 0; t < T; t++)
            {
                var xt = X.Slice(t * K, K);
                for (int r = 0; r < rows; r++)
                {
                    float sum = 0;
                    for (int k = 0; k < K; k++)
                        sum += xt[k] * Widen(Unsafe.Add(ref tail, (nint)k * rows + r));
                    int n = n0 + r;
                    Y[t * N + n] = Finish(sum, Bias, n, Activation);
                }
            }
        }
    }
}
