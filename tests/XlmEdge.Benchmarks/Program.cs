using System.Diagnostics;
using System.Globalization;

namespace XlmEdge.Benchmarks;

/// <summary>
/// Entry point. Modes:
///   run (default)  the full comparison (run-benchmarks.sh passes every path)
///   artefacts      only the per-call timings of the artefacts users run (the run's --gguf, --xlmedge-cli, ... options)
///   --smoke        tiny fixture model, XlmEdge against ONNX Runtime, one iteration; exit 1 on any failure
///   engine NAME    child: one engine's sweep over a cases file (--serve: driven over stdin by the run, interleaved with the others)
///   ort-cold       child: create an ORT session and run once (cold-start measurement)
///   tokenizer MODEL.gguf   tokenizer throughput (tokens/s, MB/s) on English and French text, one thread
///   accuracy Q8.gguf REF.gguf   q8 mask predictions against the fp16 packing (top-1, top-5, logit error, KL)
///   q8             fill-mask latency of XlmEdge q8 and fp16 against ONNX Runtime fp32 and int8 (--checkpoint, --q8,
///                  --gguf, --onnx, --onnx-int8 [--threads N --iterations S --out DIR]): q8.md
///   int8-kernels   the q8 Linear at the enfr-1024 shapes on every int8 path, interleaved (--threads N, --tokens 8,16,128,512)
///   kernels        Linear throughput at the enfr-1024 shapes, fp16 and fp32 weights (--threads N, --tokens 8,16,128)
///   forward-ab     child: generated against generic forward, interleaved in one process (--model, --tokens, --out, --generic-first)
///   serve          child: the library in process, fill-mask on each stdin line (the artefact timings)
///   machine        the CPU, the SIMD path XlmEdge runs, the FMA peak per width and the read bandwidth (--threads N)
///   generation     greedy generation on a causal model against ONNX Runtime without a cache, and the memory floor
///                  (--gguf CLM.gguf --onnx NEXT_TOKEN.onnx [--threads 2 --prompt-tokens 16 --new-tokens 32 --runs 5 --out FILE.md])
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        try
        {
            var options = BenchOptions.Parse(args);
            if (options.Flag("smoke"))
                return SmokeTest.Run(options, Console.Error);
            return options.Mode switch
            {
                "run" => new BenchmarkRun(options, Console.Error).Run(),
                "artefacts" => new BenchmarkRun(options, Console.Error).RunArtefacts(),
                "engine" => RunEngine(options),
                "ort-cold" => RunOrtCold(options),
                "tokenizer" => RunTokenizer(options),
                "kernels" => RunKernels(options),
                "accuracy" => Q8Accuracy.Run(options, Console.Out),
                "q8" => Q8Bench.Run(options, Console.Error),
                "int8-kernels" => Int8KernelAB.Run(options, Console.Out),
                "machine" => RunMachine(options),
                "generation" => GenerationBench.Run(options, Console.Out),
                "serve" => RunServe(options),
                "forward-ab" => ForwardComparison.Run(options.Require("model"), options.Int("threads", Environment.ProcessorCount),
                    (options.Get("tokens") ?? "8,16,128").Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray(),
                    options.Double("iterations", 1.0), options.Flag("generic-first"), options.Require("out"), Console.Error),
                _ => throw new UsageException($"unknown mode '{options.Mode}' (run, engine, ort-cold, tokenizer, kernels, machine, generation, accuracy, q8, int8-kernels, or --smoke)"),
            };
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }
    }

    /// <summary>Tokenizer throughput of a packed model's tokenizer (issue: at least 5 MB/s on one core).</summary>
    private static int RunTokenizer(BenchOptions options)
    {
        var path = options.Positional.FirstOrDefault() ?? throw new UsageException("tokenizer needs a model file");
        using var model = XlmModel.Load(path, new XlmModelOptions { Threads = 1 });
        TokenizerThroughput.Run(model.Tokenizer, Console.Out);
        return 0;
    }

    /// <summary>Linear kernel throughput at the model's shapes (where the encoder's time goes, without the rest).</summary>
    private static int RunKernels(BenchOptions options)
    {
        var tokens = (options.Get("tokens") ?? "8,16,32,128").Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        KernelThroughput.Run(options.Int("threads", Environment.ProcessorCount), tokens, options.Int("layers", 6), Console.Out);
        return 0;
    }

    /// <summary>
    /// Child process: the XlmEdge library in this (JIT) process, the way an application calls it: one
    /// <see cref="XlmModel.FillMask(string, string, int)"/> per stdin line (the text; language --lang, top 5),
    /// answering {"ms": time inside the call, "top1": id} per line.
    /// </summary>
    private static int RunServe(BenchOptions options)
    {
        using var model = XlmModel.Load(options.Require("model"), new XlmModelOptions { Threads = options.Int("threads", Environment.ProcessorCount) });
        var language = options.Get("lang") ?? "en";
        string? line;
        while ((line = Console.In.ReadLine()) is not null)
        {
            var start = Stopwatch.GetTimestamp();
            var result = model.FillMask(line, language);
            var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            Console.Out.WriteLine(FormattableString.Invariant($"{{\"ms\": {ms:F4}, \"top1\": {result.Masks[0].Candidates[0].Id}}}"));
            Console.Out.Flush();
        }
        return 0;
    }

    /// <summary>What the floor of a run would be made of on this machine, without a model.</summary>
    private static int RunMachine(BenchOptions options)
    {
        var threads = options.Int("threads", Environment.ProcessorCount);
        var machine = MachineProbe.Describe();
        Console.WriteLine($"CPU: {machine.CpuModel}, {machine.Cores} cores; load average {machine.LoadAverage}");
        Console.WriteLine($"XlmEdge SIMD path: {Kernels.CpuFeatures.Name(Kernels.CpuFeatures.Selected)}");
        foreach (var r in FmaPeak.Measure(threads))
            Console.WriteLine(FormattableString.Invariant($"FMA peak, {Kernels.CpuFeatures.Name(r.Path)}: {r.OneCoreGflops:F1} GFLOP/s on one core, {r.AllThreadsGflops:F1} on {r.Threads} threads"));
        Console.WriteLine(FormattableString.Invariant($"read bandwidth: {MachineProbe.ReadBandwidthGBps(1):F1} GB/s on one thread, {MachineProbe.ReadBandwidthGBps(threads):F1} on {threads}"));
        return 0;
    }

    /// <summary>
    /// Child process: load one engine, sweep its cases (or, with --serve, time them as <see cref="InterleavedSweep"/>
    /// asks on stdin), write PREFIX.json/.rows.bin/.hidden.bin.
    /// </summary>
    private static int RunEngine(BenchOptions options)
    {
        var name = options.Positional.FirstOrDefault() ?? throw new UsageException("engine needs a name (xlmedge, ort, ort-encoder)");
        var model = options.Require("model");
        var geometry = ModelGeometry.FromCheckpoint(options.Require("checkpoint"));
        var threads = options.Int("threads", Environment.ProcessorCount);
        var cases = BenchCase.ReadJson(options.Require("cases"));

        var forward = options.Get("forward") ?? "generated";
        if (forward is not ("generated" or "generic"))
            throw new UsageException($"--forward is generated or generic, not '{forward}'");

        using var kernels = new KernelsThatRan();
        var start = Stopwatch.GetTimestamp();
        using IBenchEngine engine = name switch
        {
            "xlmedge" => new XlmEdgeEngine(model, threads, geometry.EmbeddingSize, generated: forward == "generated"),
            "ort" => new OrtEngine(model, encoderOnly: false, threads, geometry.VocabSize, geometry.EmbeddingSize),
            "ort-encoder" => new OrtEngine(model, encoderOnly: true, threads, geometry.VocabSize, geometry.EmbeddingSize),
            _ => throw new UsageException($"unknown engine '{name}'"),
        };
        var loadMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        var result = options.Flag("serve")
            ? EngineSweep.Serve(engine, threads, loadMs, cases, warmJit: !options.Flag("no-jit-warmup"), Console.In, Console.Out)
            : EngineSweep.Run(engine, threads, loadMs, cases, warmJit: !options.Flag("no-jit-warmup"), Console.Error);
        var runtime = engine is XlmEdgeEngine xlmedge
            ? $"{xlmedge.Describe()}; kernels that ran: {string.Join(", ", kernels.Names)}"
            : $"ONNX Runtime {Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString()}";
        (result with { Runtime = runtime }).Write(options.Require("out"));
        return 0;
    }

    /// <summary>Child process: what a user of ONNX Runtime waits for before the first fill-mask result.</summary>
    private static int RunOrtCold(BenchOptions options)
    {
        var geometry = ModelGeometry.FromCheckpoint(options.Require("checkpoint"));
        var ids = options.Require("ids").Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        var c = new BenchCase("cold", CaseKind.FillMask, ids.Length, 1, Array.IndexOf(ids, BenchCase.MaskId), [ids], 0, 1);
        using var engine = new OrtEngine(options.Require("model"), encoderOnly: false, options.Int("threads", Environment.ProcessorCount), geometry.VocabSize, geometry.EmbeddingSize);
        engine.Prepare(c);
        engine.Run();
        Console.WriteLine(engine.Collect().TopIds![0][0].ToString(CultureInfo.InvariantCulture));
        return 0;
    }
}
