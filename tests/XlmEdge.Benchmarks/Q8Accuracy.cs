using System.Globalization;
using XlmEdge.Tests.Model;

namespace XlmEdge.Benchmarks;

/// <summary>
/// <c>accuracy Q8.gguf REFERENCE.gguf</c>: how far a q8 file's mask predictions are from its fp16 (or fp32)
/// packing of the same checkpoint, on the corpus sentences (tests/fixtures/corpus, en and fr alternately),
/// each cut to at most <c>--max-tokens</c> (default 64) and masked at one position chosen by a seeded
/// generator (two positions in every third input). Prints the docs/benchmarks.md accuracy row: masks,
/// top-1 agreement, top-5 overlap, maximum logit error, mean KL (<see cref="MaskAgreement"/>).
/// <c>--dump FILE</c> also writes the inputs (ids, language id, mask positions; JSON lines) for
/// python/q8_schemes.py, which measures other int8 schemes on exactly these masks.
/// </summary>
internal static class Q8Accuracy
{
    public static int Run(BenchOptions options, TextWriter output)
    {
        if (options.Positional.Count != 2)
            throw new UsageException("accuracy needs Q8.gguf and REFERENCE.gguf");
        string corpus = options.Get("corpus") ?? Path.Combine(FindRepositoryRoot(), "tests", "fixtures", "corpus");
        int inputs = options.Int("inputs", 400), maxTokens = options.Int("max-tokens", 64);
        var random = new Random(options.Int("seed", 12));
        using var q8 = XlmModel.Load(options.Positional[0]);
        using var reference = XlmModel.Load(options.Positional[1]);
        var sentences = new[] { "en", "fr" }
            .Select(language => File.ReadAllLines(Path.Combine(corpus, language + ".txt")).Where(l => l.Trim().Length > 0).Select(l => (language, l)).ToArray())
            .ToArray();
        using var dump = options.Get("dump") is { } dumpPath ? new StreamWriter(dumpPath) : null;
        var agreement = new MaskAgreement();
        // The reference's lead of its top-1 over its runner-up: how near a tie each mask is.
        var gaps = new List<float>();
        float largestFlippedGap = 0;
        for (int i = 0; i < inputs; i++)
        {
            var (language, text) = sentences[i % 2][i / 2 % sentences[i % 2].Length];
            var tokenized = q8.Tokenizer.Encode(text, language);
            // Cut to maxTokens ids with </s> kept last (an input of maxTokens or fewer ids is taken whole).
            var ids = tokenized.Ids.Count <= maxTokens ? tokenized.Ids.ToArray() : tokenized.Ids.Take(maxTokens - 1).Append(tokenized.Ids[^1]).ToArray();
            if (ids.Length < 4)
                continue;
            for (int m = 0; m < (i % 3 == 2 ? 2 : 1); m++)
                ids[random.Next(1, ids.Length - 1)] = q8.Config.MaskId;
            dump?.WriteLine(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, int[]>
            {
                ["ids"] = ids,
                ["lang"] = [tokenized.LanguageId],
                ["masks"] = Enumerable.Range(0, ids.Length).Where(p => ids[p] == q8.Config.MaskId).ToArray(),
            }));
            var logits = q8.MaskLogits([ids], [tokenized.LanguageId]);
            var referenceLogits = reference.MaskLogits([ids], [tokenized.LanguageId]);
            for (int m = 0; m < logits.Length; m++)
            {
                agreement.Add(referenceLogits[m], logits[m]);
                var top = MaskAgreement.Top(referenceLogits[m], 2);
                float gap = referenceLogits[m][top[0]] - referenceLogits[m][top[1]];
                gaps.Add(gap);
                if (MaskAgreement.Top(logits[m], 1)[0] != top[0])
                    largestFlippedGap = Math.Max(largestFlippedGap, gap);
            }
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {Path.GetFileNameWithoutExtension(options.Positional[0])} vs {reference.WeightType} | {agreement.Masks} | {agreement.Top1:P1} | {agreement.Top5:P1} | {agreement.MaxLogitError:F3} | {agreement.MeanKl:E2} |"));
        gaps.Sort();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"reference top-1 lead over its runner-up: median {gaps[gaps.Count / 2]:F3}, 10th percentile {gaps[gaps.Count / 10]:F3}; largest lead q8 flipped {largestFlippedGap:F3}"));
        output.WriteLine($"kernels: int8 {XlmRuntime.Int8Path}, float {XlmRuntime.SimdPath}");
        return 0;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "XlmEdge.sln")))
                return dir.FullName;
        throw new UsageException("repository root not found; pass --corpus DIR");
    }
}
