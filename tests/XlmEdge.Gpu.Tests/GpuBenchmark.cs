using System.Diagnostics;
using System.Globalization;
using ILGPU.Runtime.Cuda;
using XlmEdge.Model;

namespace XlmEdge.Gpu.Tests;

/// <summary>
/// The GPU benchmark (issue 13): fill-mask latency at T = 16, 128 and 512 (batch 1) and throughput
/// at batch 64 x T = 32 on the device, against the CPU path on the same machine and against the
/// device's physical limits (HBM bandwidth for the weights, fp32 peak for the FLOPs), on the
/// enfr-1024 geometry with random fp16 weights made here (<see cref="RandomCheckpoint"/>). Each case
/// also checks the device's logits against the CPU's and profiles where the device time goes.
/// </summary>
/// <remarks>
/// <c>--quick</c> runs the same code on the tiny fixture with small cases, for CI on ILGPU's CPU
/// accelerator (no timing claims). Options: <c>--cpu-threads N</c> (default 2: the issue's 2-core
/// CPU path), <c>--model FILE.gguf</c> (skip making the checkpoint), <c>--work DIR</c>.
/// </remarks>
internal static class GpuBenchmark
{
    private sealed record Case(string Name, int Batch, int Tokens);

    public static int Run(string[] args, TextWriter log)
    {
        bool quick = args.Contains("--quick");
        int cpuThreads = IntOption(args, "--cpu-threads") ?? 2;
        string? modelPath = Option(args, "--model");
        string work = Option(args, "--work") ?? Directory.CreateTempSubdirectory("xlmedge-gpu-bench-").FullName;

        log.WriteLine($"# XlmEdge GPU benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        log.WriteLine($"host: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        if (modelPath is null)
        {
            if (quick)
                modelPath = XlmEdge.Tests.TestModels.TinyEnfrPath;
            else
            {
                var clock = Stopwatch.StartNew();
                modelPath = RandomCheckpoint.MakeEnfrGeometry(work);
                log.WriteLine($"made the enfr-1024-geometry model with random fp16 weights in {clock.Elapsed.TotalSeconds:0.0} s: {modelPath}");
            }
        }
        Case[] cases = quick
            ? [new("latency T=16", 1, 16), new("latency T=33", 1, 33), new("throughput 4 x T=8", 4, 8)]
            : [new("latency T=16", 1, 16), new("latency T=128", 1, 128), new("latency T=512", 1, 512), new("throughput 64 x T=32", 64, 32)];
        double minSeconds = quick ? 0 : 2;

        using var cpu = XlmModel.Load(modelPath, new XlmModelOptions { Threads = cpuThreads });
        log.WriteLine($"cpu:    {cpu.BackendDescription}");
        var devices = new List<(string Label, XlmModel Model)>();
        try
        {
            var loadClock = Stopwatch.StartNew();
            var main = Load(modelPath, new IlgpuBackend(!TestDevice.IsCuda, profile: true));
            log.WriteLine($"device: {main.BackendDescription} (loaded in {loadClock.Elapsed.TotalSeconds:0.00} s)");
            devices.Add(("device", main));
            if (main.BackendDescription.Contains("cuBLAS", StringComparison.Ordinal))
            {
                var kernel = Load(modelPath, new IlgpuBackend(!TestDevice.IsCuda, DeviceGemmKind.Kernel, profile: true));
                log.WriteLine($"device (own GEMM kernel, for comparison): {kernel.BackendDescription}");
                devices.Add(("device, own GEMM", kernel));
            }
            var encoder = (IDeviceEncoder)main.EncoderBackend;
            var limits = DeviceLimits.Of(encoder, log);
            var config = cpu.Config.Geometry;

            log.WriteLine();
            log.WriteLine("| case | backend | median ms | min ms | runs | tokens/s | vs CPU | floor ms | of floor | max logit diff vs CPU | top-5 as CPU |");
            log.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
            var random = new Random(13);
            foreach (var c in cases)
            {
                var (inputs, languages) = Inputs(random, cpu.Config, c);
                var cpuTime = Time(() => cpu.FillMaskIds(inputs, languages), minSeconds, minRuns: quick ? 1 : 3, maxRuns: 20);
                var expected = cpu.MaskLogits(inputs, languages);
                Row(log, c, $"cpu ({cpuThreads} threads)", cpuTime, cpuTime.Median, floor: null, diff: null, sameTop5: null);
                foreach (var (label, model) in devices)
                {
                    var device = (IDeviceEncoder)model.EncoderBackend;
                    var profile = device.Profile!;
                    // warm-up: compiles the kernels and grows the buffers for this shape; timed without
                    // the profiling markers (a few microseconds each), then profiled separately
                    device.Profile = null;
                    model.FillMaskIds(inputs, languages);
                    long launches = device.Launches;
                    var time = Time(() => model.FillMaskIds(inputs, languages), minSeconds, minRuns: quick ? 1 : 10, maxRuns: 200);
                    double launchesPerCall = (device.Launches - launches) / (double)time.Runs;
                    var (diff, same) = Compare(expected, model.MaskLogits(inputs, languages));
                    double floor = limits.FloorSeconds(config, c.Batch, c.Tokens, fp32Weights: model.BackendDescription.Contains("fp32 weights", StringComparison.Ordinal)) * 1e3;
                    Row(log, c, label, time, cpuTime.Median, floor, diff, same);
                    profile.Reset();
                    device.Profile = profile;
                    for (int i = 0; i < (quick ? 1 : 5); i++)
                        model.FillMaskIds(inputs, languages);
                    Profile(log, label, profile, time, launchesPerCall);
                }
            }
            log.WriteLine();
            log.WriteLine("floor: max(weight bytes / HBM bandwidth, FLOPs / fp32 peak) for one call; weights as the device stores them.");
            return 0;
        }
        finally
        {
            foreach (var (_, model) in devices)
                model.Dispose();
        }
    }

    private static XlmModel Load(string path, IlgpuBackend backend) =>
        XlmModel.Load(path, new XlmModelOptions { Backend = XlmBackend.Cuda, BackendProvider = backend });

    /// <summary>Batch inputs of the case's length: &lt;s&gt;, random word ids, one mask in the middle, &lt;/s&gt;.</summary>
    private static (int[][] Inputs, int[] Languages) Inputs(Random random, XlmConfig config, Case c)
    {
        var inputs = new int[c.Batch][];
        for (int b = 0; b < c.Batch; b++)
        {
            var ids = new int[c.Tokens];
            for (int i = 0; i < ids.Length; i++)
                ids[i] = random.Next(14, config.Geometry.VocabularySize);
            ids[0] = 0;
            ids[^1] = 1;
            ids[c.Tokens / 2] = config.MaskId;
            inputs[b] = ids;
        }
        return (inputs, new int[c.Batch]);
    }

    private sealed record Timing(double Median, double Min, int Runs);

    /// <summary>Calls until both <paramref name="minSeconds"/> and <paramref name="minRuns"/> are reached, at most <paramref name="maxRuns"/>; milliseconds.</summary>
    private static Timing Time(Action call, double minSeconds, int minRuns, int maxRuns)
    {
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < maxRuns && (times.Count < minRuns || total.Elapsed.TotalSeconds < minSeconds))
        {
            long start = Stopwatch.GetTimestamp();
            call();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        times.Sort();
        return new Timing(times[times.Count / 2], times[0], times.Count);
    }

    private static (float MaxDiff, bool SameTop5) Compare(float[][] expected, float[][] actual)
    {
        float diff = 0;
        bool same = true;
        for (int m = 0; m < expected.Length; m++)
        {
            for (int i = 0; i < expected[m].Length; i++)
                diff = Math.Max(diff, Math.Abs(expected[m][i] - actual[m][i]));
            same &= Top5(expected[m]).SequenceEqual(Top5(actual[m]));
        }
        return (diff, same);
    }

    private static IEnumerable<int> Top5(float[] logits) =>
        Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(5);

    private static void Row(TextWriter log, Case c, string backend, Timing t, double cpuMedian, double? floor, float? diff, bool? sameTop5)
    {
        double tokensPerSecond = c.Batch * c.Tokens / (t.Median / 1e3);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {c.Name} | {backend} | {t.Median:0.000} | {t.Min:0.000} | {t.Runs} | {tokensPerSecond:0} | {cpuMedian / t.Median:0.0}x | {(floor is double f ? f.ToString("0.000", CultureInfo.InvariantCulture) : "")} | {(floor is double g ? (g / t.Median).ToString("0.00", CultureInfo.InvariantCulture) : "")} | {(diff is float d ? d.ToString("0.0e0", CultureInfo.InvariantCulture) : "")} | {(sameTop5 is bool s ? (s ? "yes" : "NO") : "")} |"));
    }

    /// <summary>Where a call's time goes: device phases (event-timed; they include gaps while the device waits for launches) and the rest on the host.</summary>
    private static void Profile(TextWriter log, string label, DeviceProfile profile, Timing time, double launchesPerCall)
    {
        if (profile.Calls == 0)
            return;
        double device = profile.Totals.Values.Sum(t => t.TotalMilliseconds) / profile.Calls;
        var phases = profile.Totals.OrderByDescending(p => p.Value).Select(p =>
            string.Create(CultureInfo.InvariantCulture, $"{p.Key} {p.Value.TotalMilliseconds / profile.Calls:0.000}"));
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"|  | profile ({label}): {launchesPerCall:0} launches per call; device {device:0.000} ms: {string.Join(", ", phases)}; host beyond device {Math.Max(0, time.Median - device):0.000} ms | | | | | | | | | |"));
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static int? IntOption(string[] args, string name) =>
        Option(args, name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : null;
}

/// <summary>The device's physical limits: HBM bandwidth and fp32 peak, from its properties and, for known GPUs, the datasheet.</summary>
internal sealed record DeviceLimits(double BytesPerSecond, double Fp32PerSecond)
{
    public static DeviceLimits Of(IDeviceEncoder encoder, TextWriter log)
    {
        if (encoder.Accelerator is not CudaAccelerator cuda)
        {
            log.WriteLine("limits: the CPU accelerator has no device limits; floors are not meaningful");
            return new DeviceLimits(double.PositiveInfinity, double.PositiveInfinity);
        }
        var device = (CudaDevice)cuda.Device;
        // DDR: two transfers per memory clock (kHz) over the bus width (bits)
        double bandwidth = 2.0 * device.MemoryClockRate * 1e3 * device.MemoryBusWidth / 8;
        // Hopper and Ada/Ampere GA10x: 128 fp32 lanes per SM; A100 (sm_80): 64; an FMA is 2 FLOPs
        int lanes = device.Architecture is { Major: 8, Minor: 0 } ? 64 : 128;
        double fp32 = 2.0 * lanes * device.NumMultiprocessors * device.ClockRate * 1e3;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"limits from the device's properties: HBM {bandwidth / 1e12:0.00} TB/s ({device.MemoryClockRate / 1e3:0} MHz x {device.MemoryBusWidth} bit), fp32 {fp32 / 1e12:0.0} TFLOP/s ({device.NumMultiprocessors} SMs x {lanes} lanes x {device.ClockRate / 1e3:0} MHz)"));
        if (device.Name.Contains("H200", StringComparison.Ordinal))
        {
            // NVIDIA H200 SXM datasheet: HBM3e 4.8 TB/s; fp32 67 TFLOP/s, TF32 tensor 494, fp16 tensor 989 (dense)
            log.WriteLine("limits from the H200 SXM datasheet: HBM 4.8 TB/s, fp32 67 TFLOP/s, fp16 tensor 989 TFLOP/s (dense); the floors use these");
            return new DeviceLimits(4.8e12, 67e12);
        }
        return new DeviceLimits(bandwidth, fp32);
    }

    /// <summary>
    /// Lower bound on one call: the weights read once (encoder matrices plus the tied output
    /// embedding, 2 or 4 bytes each) against the bandwidth, and the FLOPs (2 per weight per token,
    /// attention 4·T²·d per layer, the output layer at one mask per input) against the fp32 peak.
    /// </summary>
    public double FloorSeconds(XlmGeometry c, int batch, int tokens, bool fp32Weights)
    {
        double d = c.EmbeddingDimension, encoderWeights = c.Layers * (4 * d * d + 2 * d * c.FeedForwardDimension);
        double output = (double)c.VocabularySize * d;
        double bytes = (encoderWeights + output) * (fp32Weights ? 4 : 2);
        double flops = batch * (2 * encoderWeights * tokens + 4.0 * tokens * tokens * d * c.Layers + 2 * output);
        return Math.Max(bytes / BytesPerSecond, flops / Fp32PerSecond);
    }
}
