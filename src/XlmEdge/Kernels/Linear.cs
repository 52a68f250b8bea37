using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace XlmEdge.Kernels;

/// <summary>
/// y[T,N] = x[T,K] · W[N,K]^T + bias[N], optionally followed by GELU: every nn.Linear of the model.
/// W is the HF layout (rows = outputs, along K), fp16 (converted in registers) or fp32.
/// </summary>
/// <remarks>
/// Two strategies, both splitting the output rows N across the pool:
/// <list type="bullet">
/// <item>Few tokens (T &lt; <see cref="GemvTokens"/>, e.g. the output projection at the mask positions):
/// memory-bound; stream each W row once, widen it in registers and dot it with the token rows (in L1).</item>
/// <item>Otherwise a register-tiled GEMM: x is packed once per call into k-major panels of 2 vectors of
/// tokens ([K][2·lanes], zero padded); each work item widens a block of W rows, one K-slice of
/// <see cref="KSlice"/> at a time, into an fp32 buffer that stays in L1, and a 6-row × 2-vector kernel
/// (12 accumulators) broadcasts W values against the panel. Accumulators hold y transposed (tokens
/// along lanes); the item's epilogue writes y rows, adds the bias and applies GELU.</item>
/// </list>
/// </remarks>
internal static class Linear
{
    /// <summary>Below this many tokens the GEMV strategy wins (no padding of token panels).</summary>
    internal const int GemvTokens = 4;

    /// <summary>W rows per micro-kernel call.</summary>
    internal const int Rows = 6;

    /// <summary>K values widened per slice: Rows·KSlice·4 bytes of W and KSlice·2·lanes·4 bytes of x stay in L1.</summary>
    internal const int KSlice = 256;

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

    /// <summary>The scalar twin for fp16 weights: one dot product per output, in K order.</summary>
    internal static void ForwardScalar(ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<Half> w, int N, ReadOnlySpan<float> bias, Span<float> y, Activation activation = Activation.None)
    {
        Validate(x, T, K, w.Length, N, bias, y);
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++)
            {
                float sum = 0;
                for (int k = 0; k < K; k++)
                    sum += x[t * K + k] * (float)w[n * K + k];
                y[t * N + n] = Finish(sum, bias, n, activation);
            }
    }

    /// <summary>The scalar twin for fp32 weights.</summary>
    internal static void ForwardScalar(ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<float> w, int N, ReadOnlySpan<float> bias, Span<float> y, Activation activation = Activation.None)
    {
        Validate(x, T, K, w.Length, N, bias, y);
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++)
            {
                float sum = 0;
                for (int k = 0; k < K; k++)
                    sum += x[t * K + k] * w[n * K + k];
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
            default:
                if (typeof(TW) == typeof(Half))
                    ForwardScalar(x, T, K, MemoryMarshal.Cast<TW, Half>(w), N, bias, y, activation);
                else
                    ForwardScalar(x, T, K, MemoryMarshal.Cast<TW, float>(w), N, bias, y, activation);
                break;
        }
    }

    private static void Run<TS, TVec, TW>(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, ReadOnlySpan<TW> w, int N, ReadOnlySpan<float> bias, Span<float> y, Activation activation)
        where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged
    {
        if (T < GemvTokens)
        {
            var gemv = new GemvJob<TS, TVec, TW>
            {
                X = x, W = w, Bias = bias, Y = y, T = T, K = K, N = N, Activation = activation,
                RowsPerItem = RowsPerItem(N, 4, pool.Threads, 64),
            };
            pool.For((N + gemv.RowsPerItem - 1) / gemv.RowsPerItem, ref gemv);
            return;
        }

        int lanes = TS.Count, panelWidth = 2 * lanes;
        int panels = (T + panelWidth - 1) / panelWidth;
        int paddedT = panels * panelWidth;
        var packed = pool.Shared(checked(panels * K * panelWidth));
        PackPanels(x, T, K, panelWidth, packed);

        int rowsPerItem = RowsPerItem(N, Rows, pool.Threads, 4 * Rows);
        int kSlice = Math.Min(K, KSlice);
        pool.EnsureScratch(checked(rowsPerItem * (kSlice + paddedT)));
        var gemm = new GemmJob<TS, TVec, TW>
        {
            Pool = pool, Packed = packed, W = w, Bias = bias, Y = y, T = T, K = K, N = N, Activation = activation,
            RowsPerItem = rowsPerItem, KSlice = kSlice, Panels = panels, PaddedT = paddedT,
        };
        pool.For((N + rowsPerItem - 1) / rowsPerItem, ref gemm);
    }

    /// <summary>Rows per work item: a multiple of <paramref name="granule"/>, at most <paramref name="max"/>, and small enough for ~4 items per thread.</summary>
    private static int RowsPerItem(int N, int granule, int threads, int max)
    {
        int target = (N + 4 * threads - 1) / (4 * threads);
        int rows = (target + granule - 1) / granule * granule;
        return Math.Clamp(rows, granule, max);
    }

    /// <summary>x [T,K] -> panels [panels][K][panelWidth]: token t of panel p at lane t - p·panelWidth; missing tokens are 0.</summary>
    private static void PackPanels(ReadOnlySpan<float> x, int T, int K, int panelWidth, Span<float> packed)
    {
        int panels = packed.Length / (K * panelWidth);
        for (int p = 0; p < panels; p++)
        {
            var panel = packed.Slice(p * K * panelWidth, K * panelWidth);
            int first = p * panelWidth, count = Math.Min(panelWidth, T - first);
            if (count < panelWidth)
                panel.Clear();
            for (int j = 0; j < count; j++)
            {
                var row = x.Slice((first + j) * K, K);
                ref float dst = ref Unsafe.Add(ref MemoryMarshal.GetReference(panel), j);
                for (int k = 0; k < K; k++)
                    Unsafe.Add(ref dst, k * panelWidth) = row[k];
            }
        }
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec LoadWeights<TS, TVec, TW>(ref TW w, int k) where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged
    {
        if (typeof(TW) == typeof(Half))
            return TS.LoadHalf(in Unsafe.As<TW, Half>(ref Unsafe.Add(ref w, k)));
        return TS.Load(in Unsafe.As<TW, float>(ref Unsafe.Add(ref w, k)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float LoadWeight<TW>(ref TW w, int k) where TW : unmanaged
    {
        if (typeof(TW) == typeof(Half))
            return HalfBits.ToSingle(Unsafe.As<TW, Half>(ref Unsafe.Add(ref w, k)));
        return Unsafe.As<TW, float>(ref Unsafe.Add(ref w, k));
    }

    /// <summary>Few tokens: each item streams a block of W rows, 4 at a time, once per token (rows stay in L1).</summary>
    private ref struct GemvJob<TS, TVec, TW> : IParallelJob where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged
    {
        public ReadOnlySpan<float> X, Bias;
        public ReadOnlySpan<TW> W;
        public Span<float> Y;
        public int T, K, N, RowsPerItem;
        public Activation Activation;

        public readonly void Execute(int index, int worker)
        {
            int n0 = index * RowsPerItem, count = Math.Min(RowsPerItem, N - n0), K = this.K;
            int vecEnd = K - K % TS.Count;
            ref float x0 = ref MemoryMarshal.GetReference(X);
            ref TW w0 = ref MemoryMarshal.GetReference(W);
            ref float y0 = ref MemoryMarshal.GetReference(Y);
            int n = n0;
            for (; n <= n0 + count - 4; n += 4)
            {
                ref TW wa = ref Unsafe.Add(ref w0, (nint)n * K);
                ref TW wb = ref Unsafe.Add(ref wa, K);
                ref TW wc = ref Unsafe.Add(ref wb, K);
                ref TW wd = ref Unsafe.Add(ref wc, K);
                for (int t = 0; t < T; t++)
                {
                    ref float xt = ref Unsafe.Add(ref x0, t * K);
                    TVec a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero;
                    int k = 0;
                    for (; k < vecEnd; k += TS.Count)
                    {
                        var xv = TS.Load(in Unsafe.Add(ref xt, k));
                        a0 = TS.MultiplyAdd(LoadWeights<TS, TVec, TW>(ref wa, k), xv, a0);
                        a1 = TS.MultiplyAdd(LoadWeights<TS, TVec, TW>(ref wb, k), xv, a1);
                        a2 = TS.MultiplyAdd(LoadWeights<TS, TVec, TW>(ref wc, k), xv, a2);
                        a3 = TS.MultiplyAdd(LoadWeights<TS, TVec, TW>(ref wd, k), xv, a3);
                    }
                    float s0 = TS.Sum(a0), s1 = TS.Sum(a1), s2 = TS.Sum(a2), s3 = TS.Sum(a3);
                    for (; k < K; k++)
                    {
                        float xk = Unsafe.Add(ref xt, k);
                        s0 += xk * LoadWeight(ref wa, k);
                        s1 += xk * LoadWeight(ref wb, k);
                        s2 += xk * LoadWeight(ref wc, k);
                        s3 += xk * LoadWeight(ref wd, k);
                    }
                    ref float yt = ref Unsafe.Add(ref y0, t * N + n);
                    yt = s0;
                    Unsafe.Add(ref yt, 1) = s1;
                    Unsafe.Add(ref yt, 2) = s2;
                    Unsafe.Add(ref yt, 3) = s3;
                }
            }
            for (; n < n0 + count; n++)
            {
                ref TW wn = ref Unsafe.Add(ref w0, (nint)n * K);
                for (int t = 0; t < T; t++)
                {
                    ref float xt = ref Unsafe.Add(ref x0, t * K);
                    var acc = TS.Zero;
                    int k = 0;
                    for (; k < vecEnd; k += TS.Count)
                        acc = TS.MultiplyAdd(LoadWeights<TS, TVec, TW>(ref wn, k), TS.Load(in Unsafe.Add(ref xt, k)), acc);
                    float s = TS.Sum(acc);
                    for (; k < K; k++)
                        s += Unsafe.Add(ref xt, k) * LoadWeight(ref wn, k);
                    Unsafe.Add(ref y0, t * N + n) = s;
                }
            }
            Epilogue<TS, TVec>(Y, T, N, n0, count, Bias, Activation);
        }
    }

    /// <summary>Many tokens: register-tiled GEMM over a block of W rows (see the class remarks).</summary>
    private ref struct GemmJob<TS, TVec, TW> : IParallelJob where TS : struct, ISimd<TVec> where TVec : struct where TW : unmanaged
    {
        public WorkerPool Pool;
        public ReadOnlySpan<float> Packed, Bias;
        public ReadOnlySpan<TW> W;
        public Span<float> Y;
        public int T, K, N, RowsPerItem, KSlice, Panels, PaddedT;
        public Activation Activation;

        public readonly void Execute(int index, int worker)
        {
            int n0 = index * RowsPerItem, count = Math.Min(RowsPerItem, N - n0);
            int K = this.K, kSlice = KSlice, panelWidth = 2 * TS.Count, paddedT = PaddedT;
            var scratch = Pool.Scratch(worker, RowsPerItem * (kSlice + paddedT));
            ref float slice = ref MemoryMarshal.GetReference(scratch);
            ref float yt = ref Unsafe.Add(ref slice, RowsPerItem * kSlice);
            ref float packed = ref MemoryMarshal.GetReference(Packed);
            ref TW w0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(W), (nint)n0 * K);
            int lastPanelTokens = T - (Panels - 1) * panelWidth;

            for (int k0 = 0; k0 < K; k0 += kSlice)
            {
                int kc = Math.Min(kSlice, K - k0);
                ref float wRows = ref Unsafe.NullRef<float>();
                int wStride;
                if (typeof(TW) == typeof(Half))
                {
                    for (int r = 0; r < count; r++)
                        HalfConversion.ToSingle<TS, TVec>(
                            MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<TW, Half>(ref Unsafe.Add(ref w0, (nint)r * K + k0)), kc),
                            MemoryMarshal.CreateSpan(ref Unsafe.Add(ref slice, r * kSlice), kc));
                    wRows = ref slice;
                    wStride = kSlice;
                }
                else
                {
                    wRows = ref Unsafe.As<TW, float>(ref Unsafe.Add(ref w0, k0));
                    wStride = K;
                }
                bool accumulate = k0 > 0;
                for (int p = 0; p < Panels; p++)
                {
                    ref float panel = ref Unsafe.Add(ref packed, ((nint)p * K + k0) * panelWidth);
                    bool narrow = p == Panels - 1 && lastPanelTokens <= TS.Count;
                    for (int r = 0; r < count; r += Rows)
                    {
                        ref float wr = ref Unsafe.Add(ref wRows, (nint)r * wStride);
                        ref float yr = ref Unsafe.Add(ref yt, r * paddedT + p * panelWidth);
                        int rows = Math.Min(Rows, count - r);
                        if (narrow)
                            Kernel6x1<TS, TVec>(ref wr, wStride, rows, ref panel, kc, ref yr, paddedT, accumulate);
                        else
                            Kernel6x2<TS, TVec>(ref wr, wStride, rows, ref panel, kc, ref yr, paddedT, accumulate);
                    }
                }
            }

            ref float y0 = ref MemoryMarshal.GetReference(Y);
            for (int t = 0; t < T; t++)
            {
                ref float yRow = ref Unsafe.Add(ref y0, (nint)t * N + n0);
                for (int r = 0; r < count; r++)
                    Unsafe.Add(ref yRow, r) = Unsafe.Add(ref yt, r * paddedT + t);
            }
            Epilogue<TS, TVec>(Y, T, N, n0, count, Bias, Activation);
        }
    }

    /// <summary>
    /// yt[r, 0 .. 2·lanes) (+)= Σ_k w[r, k] · panel[k, 0 .. 2·lanes) for r &lt; rows (≤ 6). Rows past
    /// <paramref name="rows"/> alias the last real row so the loop has no branches; their sums are dropped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel6x2<TS, TVec>(ref float w, int wStride, int rows, ref float panel, int kc, ref float yt, int ytStride, bool accumulate)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        int n = TS.Count, width = 2 * n;
        ref float w0 = ref w;
        ref float w1 = ref Unsafe.Add(ref w, Math.Min(1, rows - 1) * wStride);
        ref float w2 = ref Unsafe.Add(ref w, Math.Min(2, rows - 1) * wStride);
        ref float w3 = ref Unsafe.Add(ref w, Math.Min(3, rows - 1) * wStride);
        ref float w4 = ref Unsafe.Add(ref w, Math.Min(4, rows - 1) * wStride);
        ref float w5 = ref Unsafe.Add(ref w, Math.Min(5, rows - 1) * wStride);
        TVec c00 = TS.Zero, c01 = TS.Zero, c10 = TS.Zero, c11 = TS.Zero, c20 = TS.Zero, c21 = TS.Zero;
        TVec c30 = TS.Zero, c31 = TS.Zero, c40 = TS.Zero, c41 = TS.Zero, c50 = TS.Zero, c51 = TS.Zero;
        ref float x = ref panel;
        for (int k = 0; k < kc; k++)
        {
            var b0 = TS.Load(in x);
            var b1 = TS.Load(in Unsafe.Add(ref x, n));
            x = ref Unsafe.Add(ref x, width);
            var a = TS.Broadcast(Unsafe.Add(ref w0, k));
            c00 = TS.MultiplyAdd(a, b0, c00);
            c01 = TS.MultiplyAdd(a, b1, c01);
            a = TS.Broadcast(Unsafe.Add(ref w1, k));
            c10 = TS.MultiplyAdd(a, b0, c10);
            c11 = TS.MultiplyAdd(a, b1, c11);
            a = TS.Broadcast(Unsafe.Add(ref w2, k));
            c20 = TS.MultiplyAdd(a, b0, c20);
            c21 = TS.MultiplyAdd(a, b1, c21);
            a = TS.Broadcast(Unsafe.Add(ref w3, k));
            c30 = TS.MultiplyAdd(a, b0, c30);
            c31 = TS.MultiplyAdd(a, b1, c31);
            a = TS.Broadcast(Unsafe.Add(ref w4, k));
            c40 = TS.MultiplyAdd(a, b0, c40);
            c41 = TS.MultiplyAdd(a, b1, c41);
            a = TS.Broadcast(Unsafe.Add(ref w5, k));
            c50 = TS.MultiplyAdd(a, b0, c50);
            c51 = TS.MultiplyAdd(a, b1, c51);
        }
        StorePair<TS, TVec>(ref yt, c00, c01, accumulate);
        if (rows > 1) StorePair<TS, TVec>(ref Unsafe.Add(ref yt, ytStride), c10, c11, accumulate);
        if (rows > 2) StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 2 * ytStride), c20, c21, accumulate);
        if (rows > 3) StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 3 * ytStride), c30, c31, accumulate);
        if (rows > 4) StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 4 * ytStride), c40, c41, accumulate);
        if (rows > 5) StorePair<TS, TVec>(ref Unsafe.Add(ref yt, 5 * ytStride), c50, c51, accumulate);
    }

    /// <summary>As <see cref="Kernel6x2"/> for a last panel of at most one vector of tokens.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel6x1<TS, TVec>(ref float w, int wStride, int rows, ref float panel, int kc, ref float yt, int ytStride, bool accumulate)
        where TS : struct, ISimd<TVec> where TVec : struct
    {
        int width = 2 * TS.Count;
        ref float w0 = ref w;
        ref float w1 = ref Unsafe.Add(ref w, Math.Min(1, rows - 1) * wStride);
        ref float w2 = ref Unsafe.Add(ref w, Math.Min(2, rows - 1) * wStride);
        ref float w3 = ref Unsafe.Add(ref w, Math.Min(3, rows - 1) * wStride);
        ref float w4 = ref Unsafe.Add(ref w, Math.Min(4, rows - 1) * wStride);
        ref float w5 = ref Unsafe.Add(ref w, Math.Min(5, rows - 1) * wStride);
        TVec c0 = TS.Zero, c1 = TS.Zero, c2 = TS.Zero, c3 = TS.Zero, c4 = TS.Zero, c5 = TS.Zero;
        ref float x = ref panel;
        for (int k = 0; k < kc; k++)
        {
            var b = TS.Load(in x);
            x = ref Unsafe.Add(ref x, width);
            c0 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref w0, k)), b, c0);
            c1 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref w1, k)), b, c1);
            c2 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref w2, k)), b, c2);
            c3 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref w3, k)), b, c3);
            c4 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref w4, k)), b, c4);
            c5 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref w5, k)), b, c5);
        }
        Store<TS, TVec>(ref yt, c0, accumulate);
        if (rows > 1) Store<TS, TVec>(ref Unsafe.Add(ref yt, ytStride), c1, accumulate);
        if (rows > 2) Store<TS, TVec>(ref Unsafe.Add(ref yt, 2 * ytStride), c2, accumulate);
        if (rows > 3) Store<TS, TVec>(ref Unsafe.Add(ref yt, 3 * ytStride), c3, accumulate);
        if (rows > 4) Store<TS, TVec>(ref Unsafe.Add(ref yt, 4 * ytStride), c4, accumulate);
        if (rows > 5) Store<TS, TVec>(ref Unsafe.Add(ref yt, 5 * ytStride), c5, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePair<TS, TVec>(ref float destination, TVec lower, TVec upper, bool accumulate) where TS : struct, ISimd<TVec> where TVec : struct
    {
        Store<TS, TVec>(ref destination, lower, accumulate);
        Store<TS, TVec>(ref Unsafe.Add(ref destination, TS.Count), upper, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TS, TVec>(ref float destination, TVec value, bool accumulate) where TS : struct, ISimd<TVec> where TVec : struct
    {
        if (accumulate)
            value = TS.Add(value, TS.Load(in destination));
        TS.Store(value, ref destination);
    }
}
