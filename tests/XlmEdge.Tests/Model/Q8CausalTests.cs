using System.Globalization;
using Xunit.Abstractions;

namespace XlmEdge.Tests.Model;

/// <summary>
/// The q8 packing of xlm-family/tiny-clm-enfr against its fp16 packing and the causal goldens: next-token
/// logits at every position, scores and greedy generation.
/// </summary>
/// <remarks>
/// Bounds from measurement (AMD EPYC Zen 5; XLMEDGE_SIMD scalar, vector128 and the default avx-vnni + avx512
/// gave the same figures), with the margins of <see cref="Q8GoldenTests"/>: one more disagreeing row, one
/// more top-5 miss, 25 % more logit and log-probability error, 50 % more KL, one more diverging prompt.
/// <code>
/// next-token logits, 69 rows:  top-1 68/69, top-5 98.6 %, max logit error 0.245, mean KL 8.9e-4
/// score, 6 cases:              max |q8 - fp16| log-probability 0.126 per token, 0.192 per sequence
/// greedy, 16 new tokens:       5 of 6 prompts generate what fp16 generates; the sixth differs from its
///                              second token on (fp16's top-1 there is a near-tie on this random model)
/// </code>
/// </remarks>
public sealed class Q8CausalTests(ITestOutputHelper output)
{
    private const string Fixture = "xlm-family/tiny-clm-enfr";

    private static readonly Lazy<XlmModel> Q8 = new(() => XlmModel.Load(TestModels.TinyClmEnfrQ8Path));
    private static readonly Lazy<XlmModel> F16 = new(() => XlmModel.Load(TestModels.TinyClmEnfrPath));

    private static IEnumerable<CausalCase> Cases()
    {
        var goldens = CausalGoldens.Load(Fixture);
        return goldens.Cases.Concat(goldens.BatchItems);
    }

    [Fact]
    public void NextTokenLogitsAtEveryPositionStayNearTheGoldens()
    {
        Assert.Equal("q8", Q8.Value.WeightType);
        var agreement = new MaskAgreement();
        foreach (var golden in Cases())
        {
            var logits = Q8.Value.AllLogits(golden.InputIds, golden.LangId);
            for (int p = 0; p < logits.Length; p++)
                agreement.Add(golden.Logits[p], logits[p]);
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Fixture} q8: {agreement.Masks} rows, top-1 {agreement.Top1 * agreement.Masks:F0}/{agreement.Masks}, top-5 {agreement.Top5:P1}, max logit error {agreement.MaxLogitError:F3}, mean KL {agreement.MeanKl:E2}"));
        Assert.InRange(agreement.MaxLogitError, 0, 0.31);
        Assert.InRange(agreement.MeanKl, 0, 1.35e-3);
        Assert.InRange((int)Math.Round(agreement.Top1 * agreement.Masks), 67, agreement.Masks);
        Assert.InRange(agreement.Top5, 0.98, 1);
    }

    [Fact]
    public void ScoresAndGreedyGenerationFollowFp16()
    {
        double maxPerToken = 0, maxTotal = 0;
        int generated = 0, same = 0, prefixes = 0, identical = 0;
        foreach (var golden in CausalGoldens.Load(Fixture).Cases)
        {
            var q8 = Q8.Value.ScoreIds(golden.InputIds, golden.LangId);
            var f16 = F16.Value.ScoreIds(golden.InputIds, golden.LangId);
            for (int i = 0; i < q8.TokenLogProbabilities.Count; i++)
                maxPerToken = Math.Max(maxPerToken, Math.Abs(q8.TokenLogProbabilities[i] - f16.TokenLogProbabilities[i]));
            maxTotal = Math.Max(maxTotal, Math.Abs(q8.LogLikelihood - f16.LogLikelihood));

            var prompt = golden.InputIds.AsSpan(0, golden.InputIds.Length - 1);
            var a = Q8.Value.GenerateIds(prompt, golden.LangId, 16).GeneratedIds;
            var b = F16.Value.GenerateIds(prompt, golden.LangId, 16).GeneratedIds;
            int k = 0;
            while (k < Math.Min(a.Count, b.Count) && a[k] == b[k])
                k++;
            same += k;
            generated += b.Count;
            prefixes++;
            identical += a.SequenceEqual(b) ? 1 : 0;
            output.WriteLine($"{golden.Id}: q8 and fp16 generate the same first {k} of {b.Count} tokens");
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"score: max |q8 - fp16| log-probability per token {maxPerToken:F4}, per sequence {maxTotal:F4}; greedy: {same}/{generated} tokens before the first difference over {prefixes} prompts"));
        Assert.InRange(maxPerToken, 0, 0.16);
        Assert.InRange(maxTotal, 0, 0.24);
        Assert.InRange(identical, prefixes - 2, prefixes);
    }
}
