using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using XlmEdge.Kernels;

namespace XlmEdge.Benchmarks;

/// <summary>
/// Throughput of the encoder's kernels at the enfr-1024 shapes, with random data: the GEMM
/// micro-kernel alone with hot operands; the Linear kernel (panel weights, as the weights tool writes
/// them and the encoder reads them) on one layer's four d×d projections and
/// the two FFN matrices, over several layers' worth of distinct weights so W streams from DRAM as in
/// the real forward pass (ms, GFLOP/s and weight bytes per second, for fp16 and fp32 weights: kernel
/// quality apart from the cost of streaming and widening fp16 weights); one layer's attention; the
/// output layer at one mask; GELU.
/// </summary>
internal static class KernelThroughput
{
    private const int D = 1024, Ffn = 4096;

    /// <summary>One layer's Linears at the enfr-1024 geometry, (N, K): q, k, v, out, FFN up, FFN down.</summary>
    public static readonly (int N, int K)[] Shapes = [(D, D), (D, D), (D, D), (D, D), (Ffn, D), (D, Ffn)];

    /// <summary>Random activations for up to <paramref name="maxT"/> tokens of the widest K, in [-0.5, 0.5).</summary>
    public static float[] RandomActivations(Random random, int maxT)
    {
        var x = new float[maxT * Ffn];
        for (int i = 0; i < x.Length; i++)
            x[i] = random.NextSingle() - 0.5f;
        return x;
    }

    public static void Run(int threads, int[] tokenCounts, int Layers, TextWriter output)
    {
        using var pool = new WorkerPool(threads);
        var random = new Random(1);
        var shapes = Shapes;
        var half = new Half[Layers][][];
        var single = new float[Layers][][];
        for (int l = 0; l < Layers; l++)
        {
            half[l] = new Half[shapes.Length][];
            single[l] = new float[shapes.Length][];
            for (int s = 0; s < shapes.Length; s++)
            {
                var (n, k) = shapes[s];
                var rowMajorHalf = new Half[n * k];
                var rowMajorSingle = new float[n * k];
                for (int i = 0; i < n * k; i++)
                {
                    var h = (Half)((random.NextSingle() - 0.5f) * 0.1f);
                    rowMajorHalf[i] = h;
                    rowMajorSingle[i] = (float)h;
                }
                // The layout the weights tool writes and the encoder's Linears read.
                half[l][s] = new Half[n * k];
                single[l][s] = new float[n * k];
                PanelLayout.Pack(rowMajorHalf, n, k, half[l][s]);
                PanelLayout.Pack(rowMajorSingle, n, k, single[l][s]);
            }
        }
        MicroKernelRate(random, output);
        OutputRow(pool, random, output);
        GeluRate(random, output);
        AttentionRate(pool, random, tokenCounts, output);
        int maxT = tokenCounts.Max();
        var x = RandomActivations(random, maxT);
        var y = new float[maxT * Ffn];
        var bias = new float[Ffn];

        double flopsPerToken = 0, halfBytes = 0;
        foreach (var (n, k) in shapes)
        {
            flopsPerToken += 2.0 * n * k * Layers;
            halfBytes += 2.0 * n * k * Layers;
        }
        output.WriteLine($"Linear throughput, {threads} threads, enfr-1024 shapes x {Layers} layers ({halfBytes / 1e6:F0} MB fp16)");
        output.WriteLine("| weights | T | median ms | min ms | GFLOP/s (median) | weight GB/s (median) |");
        output.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (int T in tokenCounts)
        {
            foreach (var dtype in new[] { "f16", "f32" })
            {
                void Pass()
                {
                    for (int l = 0; l < Layers; l++)
                        for (int s = 0; s < shapes.Length; s++)
                        {
                            var (n, k) = shapes[s];
                            if (dtype == "f16")
                                Linear.ForwardPanels<Half>(pool, x.AsSpan(0, T * k), T, k, half[l][s], n, bias.AsSpan(0, n), y.AsSpan(0, T * n), Activation.None);
                            else
                                Linear.ForwardPanels<float>(pool, x.AsSpan(0, T * k), T, k, single[l][s], n, bias.AsSpan(0, n), y.AsSpan(0, T * n), Activation.None);
                        }
                }
                // Long enough for tiered JIT to reach its final code.
                long warmUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 2;
                while (Stopwatch.GetTimestamp() < warmUntil)
                    Pass();
                var times = new List<double>();
                for (int i = 0; i < 31; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    Pass();
                    times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                times.Sort();
                double ms = times[times.Count / 2];
                double bytes = dtype == "f16" ? halfBytes : 2 * halfBytes;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {dtype} | {T} | {ms:F2} | {times[0]:F2} | {flopsPerToken * T / ms / 1e6:F1} | {bytes / ms / 1e6:F1} |"));
            }
        }
    }

    /// <summary>
    /// The GEMM micro-kernels of the width this process runs (the widest unless <c>XLMEDGE_SIMD</c> forces a
    /// narrower one, so that each width's kernels can be measured on one machine) alone on one thread with hot operands, in L1 (the row-major one:
    /// one group of widened W rows × 256 k and one 256 × 2·lanes token panel; the panel one the encoder's Linears
    /// run: 256 k of a 32-row fp32 panel against one block of tokens): how close each kernel's code comes to the
    /// core's FMA peak, apart from everything around it.
    /// </summary>
    private static void MicroKernelRate(Random random, TextWriter output)
    {
        switch (CpuFeatures.Selected)
        {
            case SimdPath.Vector512: MicroKernelRate<Simd512, Vector512<float>>(random, output); break;
            case SimdPath.Vector256: MicroKernelRate<Simd256, Vector256<float>>(random, output); break;
            case SimdPath.Vector128: MicroKernelRate<Simd128, Vector128<float>>(random, output); break;
        }
    }

    private static void MicroKernelRate<TS, TVec>(Random random, TextWriter output) where TS : struct, ISimd<TVec> where TVec : struct
    {
        int rows = Tiling<TS, TVec>.Rows, width = 2 * TS.Count;
        const int Kc = 256, Calls = 20000;
        var w = new float[rows * Kc];
        var panel = new float[Kc * width];
        var yt = new float[rows * width];
        for (int i = 0; i < w.Length; i++)
            w[i] = random.NextSingle();
        for (int i = 0; i < panel.Length; i++)
            panel[i] = random.NextSingle();
        double best = BestOfRounds(Calls, () => MicroKernels.Kernel<TS, TVec>(ref w[0], Kc, rows, ref panel[0], Kc, ref yt[0], width, accumulate: false));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"row-major micro-kernel {rows}x2 (attention, row-major matrices; {CpuFeatures.Name(CpuFeatures.Selected)}), one thread, operands in L1: {2.0 * rows * Kc * width * Calls / best / 1e9:F1} GFLOP/s (best of 15 rounds)"));
        // The encoder's Linears run the panel kernel (32 rows of W along the lanes, tokens broadcast) on fp16
        // panels, widened in registers at every k step; the fp32 form beside it shows what the widening costs.
        // Blocks of the full width and of 4 tokens: a T = 16 call runs one of each on AVX-512.
        int tokens = Linear.PanelTokens<TS, TVec>();
        var panelW = new float[Kc * PanelLayout.Rows];
        var panelHalf = new Half[Kc * PanelLayout.Rows];
        var tile = new float[tokens * PanelLayout.Rows];
        for (int i = 0; i < panelW.Length; i++)
        {
            panelW[i] = random.NextSingle();
            panelHalf[i] = (Half)random.NextSingle();
        }
        foreach (bool half in new[] { false, true })
        {
            foreach (int count in new[] { tokens, 4 })
            {
                double panelBest = (half, count) switch
                {
                    (false, 12) => BestOfRounds(Calls, () => PanelKernels.Kernel<TS, TVec, float, SinglePanel, Tokens12>(ref panelW[0], ref panel[0], width, Kc, ref tile[0], accumulate: false, prefetchX: false)),
                    (false, 6) => BestOfRounds(Calls, () => PanelKernels.Kernel<TS, TVec, float, SinglePanel, Tokens6>(ref panelW[0], ref panel[0], width, Kc, ref tile[0], accumulate: false, prefetchX: false)),
                    (false, _) => BestOfRounds(Calls, () => PanelKernels.Kernel<TS, TVec, float, SinglePanel, Tokens4>(ref panelW[0], ref panel[0], width, Kc, ref tile[0], accumulate: false, prefetchX: false)),
                    (true, 12) => BestOfRounds(Calls, () => PanelKernels.Kernel<TS, TVec, Half, HalfPanel<UnscaledHalves>, Tokens12>(ref panelHalf[0], ref panel[0], width, Kc, ref tile[0], accumulate: false, prefetchX: false)),
                    (true, 6) => BestOfRounds(Calls, () => PanelKernels.Kernel<TS, TVec, Half, HalfPanel<UnscaledHalves>, Tokens6>(ref panelHalf[0], ref panel[0], width, Kc, ref tile[0], accumulate: false, prefetchX: false)),
                    (true, _) => BestOfRounds(Calls, () => PanelKernels.Kernel<TS, TVec, Half, HalfPanel<UnscaledHalves>, Tokens4>(ref panelHalf[0], ref panel[0], width, Kc, ref tile[0], accumulate: false, prefetchX: false)),
                };
                // One call computes two vectors of rows (the whole 32-row panel only at 512 bits).
                int rowsPerCall = 2 * TS.Count;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"panel kernel {rowsPerCall} rows x {count} tokens, {(half ? "fp16 widened in registers" : "fp32")} ({CpuFeatures.Name(CpuFeatures.Selected)}), one thread, operands in L1: {2.0 * rowsPerCall * count * Kc * Calls / panelBest / 1e9:F1} GFLOP/s (best of 15 rounds)"));
            }
        }
    }

    /// <summary>The fastest of 15 rounds of <paramref name="calls"/> calls, in seconds.</summary>
    private static double BestOfRounds(int calls, Action call)
    {
        double best = double.MaxValue;
        for (int round = 0; round < 15; round++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < calls; i++)
                call();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return best;
    }

    /// <summary>The fill-mask output layer at one mask: [1, d] × E^T over the whole vocabulary (memory-bound).</summary>
    private static void OutputRow(WorkerPool pool, Random random, TextWriter output)
    {
        const int Vocabulary = 64139;
        var e = new Half[Vocabulary * D];
        for (int i = 0; i < e.Length; i++)
            e[i] = (Half)((random.NextSingle() - 0.5f) * 0.1f);
        var x = new float[D];
        for (int i = 0; i < D; i++)
            x[i] = random.NextSingle() - 0.5f;
        var bias = new float[Vocabulary];
        var logits = new float[Vocabulary];
        long warmUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < warmUntil)
            Linear.Forward(pool, x, 1, D, e, Vocabulary, bias, logits);
        var times = new List<double>();
        for (int i = 0; i < 31; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Linear.Forward(pool, x, 1, D, e, Vocabulary, bias, logits);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        times.Sort();
        double ms = times[times.Count / 2];
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"output layer at one mask (1 x {D} x {Vocabulary}, fp16): median {ms:F2} ms, min {times[0]:F2} ms, {2.0 * e.Length / ms / 1e6:F1} GB/s"));
    }

    /// <summary>One layer's self-attention (8 heads of 128) at each T: scores, softmax and weighted sums.</summary>
    private static void AttentionRate(WorkerPool pool, Random random, int[] tokenCounts, TextWriter output)
    {
        const int Heads = 8;
        foreach (int T in tokenCounts)
        {
            var q = new float[T * D];
            var k = new float[T * D];
            var v = new float[T * D];
            var o = new float[T * D];
            for (int i = 0; i < q.Length; i++)
            {
                q[i] = random.NextSingle() - 0.5f;
                k[i] = random.NextSingle() - 0.5f;
                v[i] = random.NextSingle() - 0.5f;
            }
            long warmUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
            while (Stopwatch.GetTimestamp() < warmUntil)
                Attention.SelfAttention(pool, q, k, v, T, Heads, D / Heads, o);
            var times = new List<double>();
            for (int i = 0; i < 31; i++)
            {
                long start = Stopwatch.GetTimestamp();
                Attention.SelfAttention(pool, q, k, v, T, Heads, D / Heads, o);
                times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            times.Sort();
            double ms = times[times.Count / 2];
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"attention, {pool.Threads} threads, T = {T}, {Heads} heads of {D / Heads}: median {ms:F3} ms, min {times[0]:F3} ms, {4.0 * T * T * D / ms / 1e6:F1} GFLOP/s"));
        }
    }

    /// <summary>GELU after the first FFN matrix: one thread, values in the range the model produces.</summary>
    private static void GeluRate(Random random, TextWriter output)
    {
        var values = new float[128 * Ffn];
        var work = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
            values[i] = (random.NextSingle() - 0.5f) * 8f;
        var times = new List<double>();
        for (int i = 0; i < 40; i++)
        {
            values.CopyTo(work, 0);
            long start = Stopwatch.GetTimestamp();
            Activations.Gelu(work);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        times.Sort();
        double ms = times[times.Count / 2];
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"GELU, one thread: {ms * 1e6 / values.Length:F2} ns per value (128 x {Ffn} in {ms:F2} ms)"));
    }
}
