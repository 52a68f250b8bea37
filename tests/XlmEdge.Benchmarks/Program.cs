using System.Diagnostics;
using System.Globalization;

namespace XlmEdge.Benchmarks;

/// <summary>
/// Entry point. Modes:
///   run (default)  the full comparison (run-benchmarks.sh passes every path)
///   --smoke        tiny fixture model, XlmEdge against ONNX Runtime, one iteration; exit 1 on any failure
///   engine NAME    child: one engine's sweep over a cases file
///   ort-cold       child: create an ORT session and run once (cold-start measurement)
///   tokenizer MODEL.gguf   tokenizer throughput (tokens/s, MB/s) on English and French text, one thread
///   accuracy Q8.gguf REF.gguf   q8 mask predictions against the fp16 packing (top-1, top-5, logit error, KL)
///   kernels        Linear throughput at the enfr-1024 shapes, fp16 and fp32 weights (--threads N, --tokens 8,16,128)
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
                "engine" => RunEngine(options),
                "ort-cold" => RunOrtCold(options),
                "tokenizer" => RunTokenizer(options),
                "kernels" => RunKernels(options),
                "accuracy" => Q8Accuracy.Run(options, Console.Out),
                _ => throw new UsageException($"unknown mode '{options.Mode}' (run, engine, ort-cold, tokenizer, kernels, accuracy, or --smoke)"),
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

    /// <summary>Child process: load one engine, sweep its cases, write PREFIX.json/.rows.bin/.hidden.bin.</summary>
    private static int RunEngine(BenchOptions options)
    {
        var name = options.Positional.FirstOrDefault() ?? throw new UsageException("engine needs a name (xlmedge, ort, ort-encoder)");
        var model = options.Require("model");
        var geometry = ModelGeometry.FromCheckpoint(options.Require("checkpoint"));
        var threads = options.Int("threads", Environment.ProcessorCount);
        var cases = BenchCase.ReadJson(options.Require("cases"));

        var start = Stopwatch.GetTimestamp();
        using IBenchEngine engine = name switch
        {
            "xlmedge" => new XlmEdgeEngine(model, threads, geometry.EmbeddingSize),
            "ort" => new OrtEngine(model, encoderOnly: false, threads, geometry.VocabSize, geometry.EmbeddingSize),
            "ort-encoder" => new OrtEngine(model, encoderOnly: true, threads, geometry.VocabSize, geometry.EmbeddingSize),
            _ => throw new UsageException($"unknown engine '{name}'"),
        };
        var loadMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        var runtime = name == "xlmedge"
            ? $"XlmEdge on {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}"
            : $"ONNX Runtime {Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString()}";
        var result = EngineSweep.Run(engine, runtime, threads, loadMs, cases, warmJit: !options.Flag("no-jit-warmup"), Console.Error);
        result.Write(options.Require("out"));
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
