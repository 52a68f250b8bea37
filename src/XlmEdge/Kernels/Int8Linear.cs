using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace XlmEdge.Kernels;

/// <summary>
/// One nn.Linear with int8 weights (q8): y[T,N] = x[T,K] · W[N,K]^T + bias, W stored as int8 values q_w with
/// one fp32 scale per output row (W[n,k] ≈ s_w[n]·q_w[n,k]), and the activations quantized per token on
/// the fly the same way (x[t,k] ≈ s_x[t]·q_x[t,k], s_x = max_k |x[t,k]| / 127, round to nearest even).
/// </summary>
/// <remarks>
/// y[t,n] = (float)(Σ_k q_x[t,k]·q_w[n,k]) · (s_x[t]·s_w[n]) + bias[n]: the sum is an exact int32 on every
/// path, so every path gives the scalar twin's results bit for bit (GELU, when fused, is the float kernels'
/// vector GELU, within its own bound of the scalar one). |sum| ≤ K·128·255 fits int32 for K below 65,000.
/// A token with a NaN or infinity gets a NaN scale: its outputs are NaN, the other tokens' are untouched.
/// <para>
/// The work splits the output rows across the pool. Each item walks its rows four at a time; for each
/// group the four rows (4·K bytes) stay in L1 while every token runs against them, three tokens per tile
/// (<see cref="Tile{TD, TB, TAcc, TC}"/>: 12 accumulators, each W vector prepared once for three tokens,
/// each x vector once for four rows). Rows are the file's layout, so lanes hold different k and each
/// accumulator is summed across once per tile, four at a time by pairwise adds into one vector per token, which
/// the epilogue scales and stores as one vector (against one reduction and one scalar store per output: the
/// q8 Linears at the enfr-1024 shapes took 0.95x the time at T = 16, 0.90x at T = 128 and 0.85x at T = 512, in
/// an interleaved A/B on 2 threads, AVX-VNNI, AMD EPYC Zen 5, load 8); the quantized x rows are padded to a multiple of 64 bytes
/// in the pool's shared buffer. A W row's last K mod <see cref="IInt8Dot{TB, TAcc}.Bytes"/> values are
/// summed in scalar code (no read past a row of the mapping).
/// </para>
/// </remarks>
internal static class Int8Linear
{
    /// <summary>Largest K whose sums cannot overflow int32 on any path (|(w + 128)·x| ≤ 255·127 per product).</summary>
    public const int MaxK = int.MaxValue / (255 * 127);

    /// <summary>Tokens quantized per work item.</summary>
    private const int QuantizeTokens = 8;

    /// <summary>y = x·W^T + bias on the selected path.</summary>
    public static void Forward(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, int N, Int8Projection p, Activation activation = Activation.None) =>
        Forward(Int8Paths.Selected, pool, x, T, K, N, p, activation);

    /// <summary>Three projections of one input with the same shape (q, k and v): x is quantized once and the three run as one pool call.</summary>
    public static void Forward(WorkerPool pool, ReadOnlySpan<float> x, int T, int K, int N, Int8Projection a, Int8Projection b, Int8Projection c) =>
        Forward(Int8Paths.Selected, pool, x, T, K, N, a, b, c);

    internal static void Forward(Int8Path path, WorkerPool pool, ReadOnlySpan<float> x, int T, int K, int N, Int8Projection p, Activation activation = Activation.None) =>
        Run(path, pool, x, T, K, N, 1, p, default, default, activation);

    internal static void Forward(Int8Path path, WorkerPool pool, ReadOnlySpan<float> x, int T, int K, int N, Int8Projection a, Int8Projection b, Int8Projection c) =>
        Run(path, pool, x, T, K, N, 3, a, b, c, Activation.None);

    /// <summary>The scalar twin: quantizes x with <see cref="QuantizeScalar"/>, one int32 dot product per output in K order.</summary>
    internal static void ForwardScalar(ReadOnlySpan<float> x, int T, int K, int N, Int8Projection p, Activation activation = Activation.None)
    {
        Validate(x, T, K, N, p);
        int stride = Stride(K);
        var q = new sbyte[T * stride];
        var scales = new float[T];
        var sums = new int[T];
        QuantizeScalar(x, T, K, q, stride, scales, sums);
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++)
            {
                int dot = 0;
                for (int k = 0; k < K; k++)
                    dot += q[t * stride + k] * p.W[n * K + k];
                float value = Scale(dot, scales[t], p.Scales[n]);
                if (!p.Bias.IsEmpty)
                    value += p.Bias[n];
                p.Y[t * N + n] = activation == Activation.Gelu ? Activations.GeluScalar(value) : value;
            }
    }

    /// <summary>Row stride of quantized activations: K rounded up to 64 bytes (zeros after K).</summary>
    internal static int Stride(int K) => (K + 63) & ~63;

    /// <summary>
    /// Quantizes each token row: scales[t] = max |x[t]| / 127, q[t,k] = round-to-even(x[t,k]·127 / max),
    /// sums[t] = Σ_k q[t,k]; q[t, K..stride) = 0. A row of zeros gets scale 0; a row with a NaN or infinity
    /// gets scale NaN and zeros. Vectorized with <see cref="Vector{T}"/>; equal to <see cref="QuantizeScalar"/> bit for bit.
    /// </summary>
    internal static void Quantize(ReadOnlySpan<float> x, int T, int K, Span<sbyte> q, int stride, Span<float> scales, Span<int> sums)
    {
        for (int t = 0; t < T; t++)
        {
            var row = x.Slice(t * K, K);
            var output = q.Slice(t * stride, stride);
            float inverse = Inverse(row, out scales[t]);
            if (inverse == 0 || !Vector.IsHardwareAccelerated)
            {
                // (A row of zeros or a non-finite one quantizes to zeros.)
                sums[t] = QuantizeRowScalar(row, inverse, output);
                output[K..].Clear();
                continue;
            }
            ref float source = ref MemoryMarshal.GetReference(row);
            ref sbyte destination = ref MemoryMarshal.GetReference(output);
            int n = Vector<float>.Count, k = 0;
            var factor = new Vector<float>(inverse);
            var total = Vector<int>.Zero;
            // 4 float vectors -> 4 int vectors -> 2 short vectors -> 1 sbyte vector.
            for (; k <= K - 4 * n; k += 4 * n)
            {
                var i0 = Rounded(ref Unsafe.Add(ref source, k), factor);
                var i1 = Rounded(ref Unsafe.Add(ref source, k + n), factor);
                var i2 = Rounded(ref Unsafe.Add(ref source, k + 2 * n), factor);
                var i3 = Rounded(ref Unsafe.Add(ref source, k + 3 * n), factor);
                total += (i0 + i1) + (i2 + i3);
                Vector.Narrow(Vector.Narrow(i0, i1), Vector.Narrow(i2, i3)).StoreUnsafe(ref destination, (nuint)k);
            }
            int sum = Vector.Sum(total);
            sum += QuantizeRowScalar(row[k..], inverse, output[k..K]);
            output[K..].Clear();
            sums[t] = sum;
        }
    }

    /// <summary>The scalar twin of <see cref="Quantize"/>.</summary>
    internal static void QuantizeScalar(ReadOnlySpan<float> x, int T, int K, Span<sbyte> q, int stride, Span<float> scales, Span<int> sums)
    {
        for (int t = 0; t < T; t++)
        {
            var row = x.Slice(t * K, K);
            float max = 0;
            foreach (float v in row)
                max = float.IsNaN(v) || float.IsNaN(max) ? float.NaN : Math.Max(max, Math.Abs(v));
            float inverse = InverseOf(max, out scales[t]);
            var output = q.Slice(t * stride, stride);
            sums[t] = QuantizeRowScalar(row, inverse, output);
            output[K..].Clear();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<int> Rounded(ref float source, Vector<float> factor) =>
        Vector.ConvertToInt32(Vector.Round(Vector.LoadUnsafe(ref source) * factor));

    private static int QuantizeRowScalar(ReadOnlySpan<float> row, float inverse, Span<sbyte> output)
    {
        if (inverse == 0)
        {
            output.Clear();
            return 0;
        }
        int sum = 0;
        for (int k = 0; k < row.Length; k++)
        {
            int value = (int)MathF.Round(row[k] * inverse);
            output[k] = (sbyte)value;
            sum += value;
        }
        return sum;
    }

    /// <summary>127 / max |row| (0 for a row of zeros or a non-finite one), and the row's scale.</summary>
    private static float Inverse(ReadOnlySpan<float> row, out float scale) =>
        InverseOf(Math.Abs(TensorPrimitives.MaxMagnitude(row)), out scale);

    private static float InverseOf(float max, out float scale)
    {
        if (!float.IsFinite(max))
        {
            scale = float.NaN;
            return 0;
        }
        scale = max / 127f;
        return max == 0 ? 0 : 127f / max;
    }

    /// <summary>The dequantizing product, written once for the twin and every path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Scale(int dot, float xScale, float wScale) => dot * (xScale * wScale);

    private static void Validate(ReadOnlySpan<float> x, int T, int K, int N, Int8Projection p)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(T);
        ArgumentOutOfRangeException.ThrowIfLessThan(K, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(K, MaxK);
        ArgumentOutOfRangeException.ThrowIfLessThan(N, 1);
        if (x.Length < (long)T * K)
            throw new ArgumentException($"x holds {x.Length} floats; T*K = {(long)T * K} needed.", nameof(x));
        if (p.W.Length < (long)N * K)
            throw new ArgumentException($"W holds {p.W.Length} values; N*K = {(long)N * K} needed.", nameof(p));
        if (p.Scales.Length < N)
            throw new ArgumentException($"W has {p.Scales.Length} scales; N = {N} needed.", nameof(p));
        if (!p.Bias.IsEmpty && p.Bias.Length < N)
            throw new ArgumentException($"bias holds {p.Bias.Length} floats; N = {N} needed.", nameof(p));
        if (p.Y.Length < (long)T * N)
            throw new ArgumentException($"y holds {p.Y.Length} floats; T*N = {(long)T * N} needed.", nameof(p));
    }

    private static void Run(Int8Path path, WorkerPool pool, ReadOnlySpan<float> x, int T, int K, int N, int count,
        Int8Projection a, Int8Projection b, Int8Projection c, Activation activation)
    {
        Validate(x, T, K, N, a);
        if (count > 1)
        {
            Validate(x, T, K, N, b);
            Validate(x, T, K, N, c);
        }
        if (!Int8Paths.IsSupported(path))
            throw new PlatformNotSupportedException($"this CPU cannot run the {Int8Paths.Name(path)} int8 path");
        if (T == 0)
            return;
        if (path == Int8Path.Scalar)
        {
            ForwardScalar(x, T, K, N, a, activation);
            if (count > 1)
            {
                ForwardScalar(x, T, K, N, b);
                ForwardScalar(x, T, K, N, c);
            }
            return;
        }

        // The pool's shared buffer: T rows of quantized x, then T scales, then T sums.
        int stride = Stride(K);
        int rowFloats = checked(T * stride) / sizeof(float);
        var shared = pool.Shared(checked(rowFloats + 2 * T));
        var quantized = new Int8Activations
        {
            Values = MemoryMarshal.Cast<float, sbyte>(shared[..rowFloats]),
            Scales = shared.Slice(rowFloats, T),
            Sums = MemoryMarshal.Cast<float, int>(shared.Slice(rowFloats + T, T)),
            Stride = stride,
        };
        var quantize = new QuantizeJob { X = x, K = K, T = T, Q = quantized };
#if NET9_0_OR_GREATER
        pool.For((T + QuantizeTokens - 1) / QuantizeTokens, ref quantize);
#else
        // net8.0 has no ref struct type arguments: the job cannot reach the pool and runs on this thread.
        for (int item = 0, items = (T + QuantizeTokens - 1) / QuantizeTokens; item < items; item++)
            quantize.Execute(item, 0);
#endif

        switch (path)
        {
#if NET9_0_OR_GREATER
            case Int8Path.AvxVnni: Gemm<VnniDot, Vector256<sbyte>, Vector256<int>>(pool, quantized, T, K, N, count, a, b, c, activation, path); break;
#endif
            case Int8Path.Avx2: Gemm<Avx2Dot, Vector256<sbyte>, Vector256<int>>(pool, quantized, T, K, N, count, a, b, c, activation, path); break;
            case Int8Path.Avx512BW: Gemm<Avx512Dot, Vector512<sbyte>, Vector512<int>>(pool, quantized, T, K, N, count, a, b, c, activation, path); break;
            case Int8Path.ArmDot: Gemm<ArmDot, Vector128<sbyte>, Vector128<int>>(pool, quantized, T, K, N, count, a, b, c, activation, path); break;
            default: Gemm<Vector128Dot, Vector128<sbyte>, Vector128<int>>(pool, quantized, T, K, N, count, a, b, c, activation, path); break;
        }
    }

    private static void Gemm<TD, TB, TAcc>(WorkerPool pool, Int8Activations x, int T, int K, int N, int count,
        Int8Projection a, Int8Projection b, Int8Projection c, Activation activation, Int8Path path)
        where TD : struct, IInt8Dot<TB, TAcc> where TB : struct where TAcc : struct
    {
        // About four items per thread and projection, at least a group of rows, at most 256 rows (the
        // output projection's 64,139 rows then split into 251 items, which balance however the threads run).
        int target = (N + 4 * pool.Threads - 1) / (4 * pool.Threads);
        int rowsPerItem = Math.Clamp((target + Rows - 1) / Rows * Rows, Rows, 256);
        var job = new GemmJob<TD, TB, TAcc>
        {
            X = x, T = T, K = K, N = N, A = a, B = b, C = c, Activation = activation, Width = Int8Paths.FloatWidth(path),
            RowsPerItem = rowsPerItem, ItemsPerProjection = (N + rowsPerItem - 1) / rowsPerItem,
        };
#if NET9_0_OR_GREATER
        pool.For(count * job.ItemsPerProjection, ref job);
#else
        // net8.0 has no ref struct type arguments: the job cannot reach the pool and runs on this thread.
        for (int item = 0, items = count * job.ItemsPerProjection; item < items; item++)
            job.Execute(item, 0);
#endif
    }

    /// <summary>W rows per tile.</summary>
    private const int Rows = 4;

    /// <summary>Tokens per tile: 1 or 3, fixed at JIT time.</summary>
    private interface ITokens
    {
        static abstract int Count { get; }
    }

    private readonly struct OneToken : ITokens
    {
        public static int Count => 1;
    }

    private readonly struct ThreeTokens : ITokens
    {
        public static int Count => 3;
    }

    private ref struct GemmJob<TD, TB, TAcc> : IParallelJob
        where TD : struct, IInt8Dot<TB, TAcc> where TB : struct where TAcc : struct
    {
        public Int8Activations X;
        public Int8Projection A, B, C;
        public int T, K, N, RowsPerItem, ItemsPerProjection;
        public Activation Activation;
        public SimdPath Width;

        public readonly void Execute(int index, int worker)
        {
            int projection = index / ItemsPerProjection;
            var p = projection == 0 ? A : projection == 1 ? B : C;
            int n0 = index % ItemsPerProjection * RowsPerItem, count = Math.Min(RowsPerItem, N - n0);
            int K = this.K, T = this.T, stride = X.Stride;
            ref sbyte w = ref MemoryMarshal.GetReference(p.W);
            ref sbyte x = ref MemoryMarshal.GetReference(X.Values);
            for (int r = 0; r < count; r += Rows)
            {
                int rows = Math.Min(Rows, count - r);
                // A short last group repeats its last row: the same loads, results not stored.
                ref sbyte w0 = ref Unsafe.Add(ref w, (nint)(n0 + r) * K);
                ref sbyte w1 = ref Unsafe.Add(ref w0, (nint)Math.Min(1, rows - 1) * K);
                ref sbyte w2 = ref Unsafe.Add(ref w0, (nint)Math.Min(2, rows - 1) * K);
                ref sbyte w3 = ref Unsafe.Add(ref w0, (nint)Math.Min(3, rows - 1) * K);
                var output = new GroupOutput(p, X, n0 + r, rows, N, TD.OffsetsW);
                int t = 0;
                for (; t <= T - 3; t += 3)
                {
                    ref sbyte x0 = ref Unsafe.Add(ref x, (nint)t * stride);
                    Tile<TD, TB, TAcc, ThreeTokens>(ref w0, ref w1, ref w2, ref w3, ref x0, ref Unsafe.Add(ref x0, stride), ref Unsafe.Add(ref x0, 2 * stride), K,
                        out var s0, out var s1, out var s2, prefetch: t == 0);
                    output.Store(s0, t);
                    output.Store(s1, t + 1);
                    output.Store(s2, t + 2);
                }
                for (; t < T; t++)
                {
                    ref sbyte x0 = ref Unsafe.Add(ref x, (nint)t * stride);
                    Tile<TD, TB, TAcc, OneToken>(ref w0, ref w1, ref w2, ref w3, ref x0, ref x0, ref x0, K, out var s0, out _, out _, prefetch: t == 0);
                    output.Store(s0, t);
                }
            }
            if (Activation == Activation.Gelu)
            {
                for (int t = 0; t < T; t++)
                    Activations.Gelu(Width, p.Y.Slice(t * N + n0, count));
            }
        }
    }

    /// <summary>
    /// Where one group's sums go: y[t, n .. n + rows) for each token t, exactly as the twin computes them
    /// (<see cref="Scale"/>, then the bias). The group's scales and bias are read once, and a full group stores
    /// one vector per token through refs: with spans sliced and checked per token, this epilogue was 13 % of a
    /// T = 128 q8 fill-mask's samples (perf, AMD EPYC Zen 5).
    /// </summary>
    private readonly ref struct GroupOutput
    {
        private readonly ref float y;
        private readonly ref float xScales;
        private readonly ref int xSums;
        private readonly ReadOnlySpan<float> wScales, bias;
        private readonly Vector128<float> wScale4, bias4;
        private readonly int rows, N;
        private readonly bool offsets;

        public GroupOutput(Int8Projection p, Int8Activations x, int n, int rows, int N, bool offsetsW)
        {
            y = ref Unsafe.Add(ref MemoryMarshal.GetReference(p.Y), n);
            xScales = ref MemoryMarshal.GetReference(x.Scales);
            xSums = ref MemoryMarshal.GetReference(x.Sums);
            wScales = p.Scales.Slice(n, rows);
            bias = p.Bias.IsEmpty ? default : p.Bias.Slice(n, rows);
            if (rows == Rows)
            {
                wScale4 = Vector128.Create(wScales);
                bias4 = bias.IsEmpty ? default : Vector128.Create(bias);
            }
            this.rows = rows;
            this.N = N;
            offsets = offsetsW;
        }

        /// <summary>y[t, n .. n + rows) from the group's sums for token t (lane r: row r).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(Vector128<int> sums, int t)
        {
            float xScale = Unsafe.Add(ref xScales, t);
            if (offsets)
                sums -= Vector128.Create(128 * Unsafe.Add(ref xSums, t));
            ref float row = ref Unsafe.Add(ref y, (nint)t * N);
            if (rows == Rows)
            {
                var value = Vector128.ConvertToSingle(sums) * (Vector128.Create(xScale) * wScale4);
                if (!bias.IsEmpty)
                    value += bias4;
                value.StoreUnsafe(ref row);
                return;
            }
            for (int i = 0; i < rows; i++)
            {
                float value = Scale(sums.GetElement(i), xScale, wScales[i]);
                Unsafe.Add(ref row, i) = bias.IsEmpty ? value : value + bias[i];
            }
        }
    }

    /// <summary>
    /// The int32 sums of four W rows against one or three token rows over K: s0, s1, s2 for tokens 0, 1, 2,
    /// lane r for row r. Vectors over the first K - K mod Bytes values, scalar code for the rest.
    /// </summary>
    /// <remarks>
    /// With <paramref name="prefetch"/> (the group's first tile), each step also asks for the matching part of
    /// the next group's four rows (the 4·K bytes after these, contiguous in the file), so they come from DRAM
    /// while this group computes: without it each group's first tile waited on its rows. The q8 Linears at the
    /// enfr-1024 shapes ran 1.24x faster at T = 8, 1.18x at 16, 1.07x at 32 and equal at 128 (int8-kernels,
    /// interleaved, 2 threads, AVX-VNNI, AMD EPYC Zen 5, load 2). Past the last row it asks for lines that
    /// are never read: a hint, never a fault.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<TD, TB, TAcc, TC>(ref sbyte w0, ref sbyte w1, ref sbyte w2, ref sbyte w3,
        ref sbyte x0, ref sbyte x1, ref sbyte x2, int K, out Vector128<int> s0, out Vector128<int> s1, out Vector128<int> s2, bool prefetch)
        where TD : struct, IInt8Dot<TB, TAcc> where TB : struct where TAcc : struct where TC : struct, ITokens
    {
        TAcc a00 = TD.Zero, a01 = TD.Zero, a02 = TD.Zero, a10 = TD.Zero, a11 = TD.Zero, a12 = TD.Zero;
        TAcc a20 = TD.Zero, a21 = TD.Zero, a22 = TD.Zero, a30 = TD.Zero, a31 = TD.Zero, a32 = TD.Zero;
        nint bytes = TD.Bytes, end = K - K % TD.Bytes, k = 0;
        for (; k < end; k += bytes)
        {
            if (prefetch)
                Prefetch.Lines(ref w0, Rows * (K + k), Rows * TD.Bytes);
            TB x1a = default, x1b = default, x2a = default, x2b = default;
            TD.PrepareX(TD.Load(in Unsafe.Add(ref x0, k)), out var x0a, out var x0b);
            if (TC.Count > 1)
            {
                TD.PrepareX(TD.Load(in Unsafe.Add(ref x1, k)), out x1a, out x1b);
                TD.PrepareX(TD.Load(in Unsafe.Add(ref x2, k)), out x2a, out x2b);
            }

            TD.PrepareW(TD.Load(in Unsafe.Add(ref w0, k)), out var wa, out var wb);
            a00 = TD.DotAdd(a00, x0a, x0b, wa, wb);
            if (TC.Count > 1)
            {
                a01 = TD.DotAdd(a01, x1a, x1b, wa, wb);
                a02 = TD.DotAdd(a02, x2a, x2b, wa, wb);
            }
            TD.PrepareW(TD.Load(in Unsafe.Add(ref w1, k)), out wa, out wb);
            a10 = TD.DotAdd(a10, x0a, x0b, wa, wb);
            if (TC.Count > 1)
            {
                a11 = TD.DotAdd(a11, x1a, x1b, wa, wb);
                a12 = TD.DotAdd(a12, x2a, x2b, wa, wb);
            }
            TD.PrepareW(TD.Load(in Unsafe.Add(ref w2, k)), out wa, out wb);
            a20 = TD.DotAdd(a20, x0a, x0b, wa, wb);
            if (TC.Count > 1)
            {
                a21 = TD.DotAdd(a21, x1a, x1b, wa, wb);
                a22 = TD.DotAdd(a22, x2a, x2b, wa, wb);
            }
            TD.PrepareW(TD.Load(in Unsafe.Add(ref w3, k)), out wa, out wb);
            a30 = TD.DotAdd(a30, x0a, x0b, wa, wb);
            if (TC.Count > 1)
            {
                a31 = TD.DotAdd(a31, x1a, x1b, wa, wb);
                a32 = TD.DotAdd(a32, x2a, x2b, wa, wb);
            }
        }

        s0 = TD.Sum4(a00, a10, a20, a30);
        s1 = TC.Count > 1 ? TD.Sum4(a01, a11, a21, a31) : default;
        s2 = TC.Count > 1 ? TD.Sum4(a02, a12, a22, a32) : default;
        if (end < K)
        {
            s0 += Tails<TD, TB, TAcc>(ref w0, ref w1, ref w2, ref w3, ref x0, (int)end, K);
            if (TC.Count > 1)
            {
                s1 += Tails<TD, TB, TAcc>(ref w0, ref w1, ref w2, ref w3, ref x1, (int)end, K);
                s2 += Tails<TD, TB, TAcc>(ref w0, ref w1, ref w2, ref w3, ref x2, (int)end, K);
            }
        }
    }

    private static Vector128<int> Tails<TD, TB, TAcc>(ref sbyte w0, ref sbyte w1, ref sbyte w2, ref sbyte w3, ref sbyte x, int start, int K)
        where TD : struct, IInt8Dot<TB, TAcc> where TB : struct where TAcc : struct =>
        Vector128.Create(Tail<TD, TB, TAcc>(ref w0, ref x, start, K), Tail<TD, TB, TAcc>(ref w1, ref x, start, K),
            Tail<TD, TB, TAcc>(ref w2, ref x, start, K), Tail<TD, TB, TAcc>(ref w3, ref x, start, K));

    /// <summary>
    /// Σ w[k]·x[k] over [start, K), with w offset by 128 as the vector part has it when the path
    /// <see cref="IInt8Dot{TB, TAcc}.OffsetsW"/> (the caller removes 128·Σx over all of K).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Tail<TD, TB, TAcc>(ref sbyte w, ref sbyte x, int start, int K)
        where TD : struct, IInt8Dot<TB, TAcc> where TB : struct where TAcc : struct
    {
        int offset = TD.OffsetsW ? 128 : 0, sum = 0;
        for (int k = start; k < K; k++)
            sum += (Unsafe.Add(ref w, k) + offset) * Unsafe.Add(ref x, k);
        return sum;
    }

    private ref struct QuantizeJob : IParallelJob
    {
        public ReadOnlySpan<float> X;
        public Int8Activations Q;
        public int T, K;

        public readonly void Execute(int index, int worker)
        {
            int t0 = index * QuantizeTokens, count = Math.Min(QuantizeTokens, T - t0);
            Quantize(X.Slice(t0 * K, count * K), count, K, Q.Values.Slice(t0 * Q.Stride, count * Q.Stride), Q.Stride,
                Q.Scales.Slice(t0, count), Q.Sums.Slice(t0, count));
        }
    }

    /// <summary>Activations quantized per token (see <see cref="Quantize"/>).</summary>
    private ref struct Int8Activations
    {
        public Span<sbyte> Values;
        public Span<float> Scales;
        public Span<int> Sums;
        public int Stride;
    }
}

/// <summary>One int8 projection: W [N, K] int8 with a scale per row, an optional bias [N], the output y [T, N].</summary>
internal readonly ref struct Int8Projection(ReadOnlySpan<sbyte> w, ReadOnlySpan<float> scales, ReadOnlySpan<float> bias, Span<float> y)
{
    public ReadOnlySpan<sbyte> W { get; } = w;
    public ReadOnlySpan<float> Scales { get; } = scales;
    public ReadOnlySpan<float> Bias { get; } = bias;
    public Span<float> Y { get; } = y;
}
