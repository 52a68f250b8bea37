using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace XlmEdge.Benchmarks;

/// <summary>
/// The generation row (issue #16): greedy decoding of <c>--new-tokens</c> tokens after a
/// <c>--prompt-tokens</c>-token prompt on a causal model. XlmEdge runs <see cref="XlmModel.GenerateIds"/>
/// (a key/value cache: one position per new token); ONNX Runtime runs the loop an export without a
/// cache allows (export_onnx.py --head next-token): the whole sequence again for every new token,
/// then the arg-max of the last position's logits. Runs alternate between the two in one process
/// (interleaved A/B). The floor is the weights read once per new token at the measured read bandwidth.
/// </summary>
internal static class GenerationBench
{
    public static int Run(BenchOptions options, TextWriter log)
    {
        string gguf = options.Require("gguf"), onnx = options.Require("onnx");
        int threads = options.Int("threads", 2), promptTokens = options.Int("prompt-tokens", 16);
        int newTokens = options.Int("new-tokens", 32), runs = options.Int("runs", 5);

        using var model = XlmModel.Load(gguf, new XlmModelOptions { Threads = threads });
        var geometry = model.Config.Geometry;
        if (!model.IsCausal)
            throw new UsageException($"{gguf} is not a causal model");
        using var sessionOptions = OrtEngine.CreateOptions(threads);
        using var session = new InferenceSession(onnx, sessionOptions);

        // <s> and pseudo-random ordinary ids (the specials end at 13), the same for both engines.
        var random = new Random(16);
        int[] prompt = [model.Tokenizer.BosId, .. Enumerable.Range(1, promptTokens - 1).Select(_ => random.Next(14, geometry.VocabularySize))];

        // Correctness first: the same greedy tokens, and the first step's logits side by side.
        var ours = model.GenerateIds(prompt, 0, newTokens);
        var theirs = OrtGreedy(session, prompt, newTokens, model.Tokenizer.EosId, geometry.VocabularySize, out var firstLogits);
        var firstOurs = new float[geometry.VocabularySize];
        model.NextTokenLogits(prompt, 0, firstOurs);
        float firstDiff = 0;
        for (int i = 0; i < firstOurs.Length; i++)
            firstDiff = Math.Max(firstDiff, Math.Abs(firstOurs[i] - firstLogits[i]));
        int agree = 0;
        while (agree < Math.Min(ours.GeneratedIds.Count, theirs.Count) && ours.GeneratedIds[agree] == theirs[agree])
            agree++;

        var xlmedgeMs = new List<double>();
        var ortMs = new List<double>();
        for (int r = 0; r < runs; r++)
        {
            var start = Stopwatch.GetTimestamp();
            var result = model.GenerateIds(prompt, 0, newTokens);
            xlmedgeMs.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            start = Stopwatch.GetTimestamp();
            OrtGreedy(session, prompt, newTokens, model.Tokenizer.EosId, geometry.VocabularySize, out _);
            ortMs.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            GC.KeepAlive(result);
        }

        // Per new token each engine reads every block matrix and the tied output matrix (V d) once, at the file's weight type.
        long d = geometry.EmbeddingDimension;
        long weightsPerToken = new ModelGeometry(geometry).EncoderLinearParameters + geometry.VocabularySize * d;
        int bytesPerWeight = model.WeightType == "f16" ? 2 : 4;
        double bandwidth = MachineProbe.ReadBandwidthGBps(threads);
        double floorMs = weightsPerToken * bytesPerWeight / (bandwidth * 1e9) * 1e3;
        int generated = ours.GeneratedIds.Count;
        double oursMedian = Stats.Median(xlmedgeMs), ortMedian = Stats.Median(ortMs);

        var inv = CultureInfo.InvariantCulture;
        var machine = MachineProbe.Describe();
        var report = new StringWriter(inv);
        report.WriteLine($"## Generation: greedy, {promptTokens}-token prompt, {newTokens} new tokens, {threads} threads");
        report.WriteLine();
        report.WriteLine($"CPU: {machine.CpuModel} ({machine.Cores} cores), SIMD path {XlmRuntime.SimdPath}, load average {machine.LoadAverage}; " +
                         $"model d={d}, {geometry.Layers} layers, vocabulary {geometry.VocabularySize}, weights {model.WeightType}; {runs} interleaved runs, medians.");
        report.WriteLine();
        report.WriteLine("| engine | ms per generation | new tokens/s | ms per new token |");
        report.WriteLine("| --- | ---: | ---: | ---: |");
        report.WriteLine(string.Create(inv, $"| XlmEdge (key/value cache) | {oursMedian:F0} | {generated / oursMedian * 1e3:F1} | {oursMedian / generated:F1} |"));
        report.WriteLine(string.Create(inv, $"| ONNX Runtime {OrtVersion()} (no cache: whole sequence per token, fp32) | {ortMedian:F0} | {theirs.Count / ortMedian * 1e3:F1} | {ortMedian / theirs.Count:F1} |"));
        report.WriteLine(string.Create(inv, $"| memory floor (weights read once per token: {weightsPerToken * bytesPerWeight / 1e6:F0} MB at {bandwidth:F1} GB/s) | {floorMs * newTokens:F0} | {1e3 / floorMs:F1} | {floorMs:F1} |"));
        report.WriteLine();
        report.WriteLine(string.Create(inv,
            $"Same greedy tokens: {agree} of {generated} (XlmEdge) / {theirs.Count} (ORT) agree from the start; first-step logits differ by at most {firstDiff:E2}. " +
            $"XlmEdge: ONNX Runtime x{ortMedian / oursMedian:F2}; XlmEdge at {floorMs * generated / oursMedian * 100:F0} % of the floor's speed (the prompt pass included). " +
            $"XlmEdge runs {string.Join(", ", xlmedgeMs.Select(m => m.ToString("F0", inv)))} ms; ORT {string.Join(", ", ortMs.Select(m => m.ToString("F0", inv)))} ms."));
        log.Write(report.ToString());
        if (options.Get("out") is { } outPath)
            File.WriteAllText(outPath, report.ToString());
        // A different greedy sequence means one engine computes another model: a failed run.
        return agree == generated && generated == theirs.Count ? 0 : 1;
    }

    /// <summary>Greedy decoding without a cache: every step runs the whole sequence and takes the arg-max (lowest id on a tie).</summary>
    private static List<int> OrtGreedy(InferenceSession session, int[] prompt, int newTokens, int eos, int vocabulary, out float[] firstLogits)
    {
        var ids = prompt.Select(i => (long)i).ToList();
        var generated = new List<int>();
        var logits = new float[vocabulary];
        firstLogits = [];
        using var runOptions = new RunOptions();
        string[] inputNames = ["input_ids", "langs", "attention_mask"], outputNames = ["logits"];
        while (generated.Count < newTokens)
        {
            long[] shape = [1, ids.Count];
            using var input = OrtValue.CreateTensorValueFromMemory(ids.ToArray(), shape);
            using var langs = OrtValue.CreateTensorValueFromMemory(new long[ids.Count], shape);
            using var mask = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, ids.Count).ToArray(), shape);
            using var output = OrtValue.CreateTensorValueFromMemory(logits, [1, vocabulary]);
            session.Run(runOptions, inputNames, [input, langs, mask], outputNames, [output]);
            if (generated.Count == 0)
                firstLogits = logits.ToArray();
            int next = TensorPrimitives.IndexOfMax(logits);
            generated.Add(next);
            if (next == eos)
                break;
            ids.Add(next);
        }
        return generated;
    }

    private static string OrtVersion() => typeof(InferenceSession).Assembly.GetName().Version?.ToString(2) ?? "";
}
