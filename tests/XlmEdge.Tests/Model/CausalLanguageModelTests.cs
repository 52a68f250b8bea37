using XlmEdge.Kernels;
using Xunit.Abstractions;

namespace XlmEdge.Tests.Model;

/// <summary>
/// Causal models (xlm-clm-*): xlm-family/tiny-clm-enfr's goldens by the original XLM code with
/// causal=True (logits at every position and hidden states, within the fill-mask bounds), the
/// key/value cache against full recomputation, generation and scoring, and the errors between
/// model kinds.
/// </summary>
public sealed class CausalLanguageModelTests(ITestOutputHelper output)
{
    private const float HiddenTolerance = 5e-5f;
    private const float LogitTolerance = 1e-4f;
    private const string Fixture = "xlm-family/tiny-clm-enfr";

    private static readonly Lazy<XlmModel> Clm = new(() => XlmModel.Load(TestModels.TinyClmEnfrPath));
    private static readonly Lazy<XlmModel> Mlm = new(() => XlmModel.Load(TestModels.TinyEnfrPath));

    private static CausalCase Golden(string id) =>
        CausalGoldens.Load(Fixture).Cases.Concat(CausalGoldens.Load(Fixture).BatchItems).Single(c => c.Id == id);

    public static TheoryData<string> Ids()
    {
        var goldens = CausalGoldens.Load(Fixture);
        return [.. goldens.Cases.Concat(goldens.BatchItems).Select(c => c.Id)];
    }

    [Fact]
    public void TheFixtureIsACausalModel()
    {
        Assert.True(Clm.Value.IsCausal);
        Assert.True(Clm.Value.Config.Geometry.IsCausal);
        Assert.False(Mlm.Value.IsCausal);
        var goldens = CausalGoldens.Load(Fixture);
        Assert.Equal(69, goldens.Cases.Concat(goldens.BatchItems).Sum(c => c.InputIds.Length));
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void LogitsAtEveryPositionAndHiddenStatesMatchTheGoldens(string id)
    {
        var golden = Golden(id);
        var model = Clm.Value;

        var logits = model.AllLogits(golden.InputIds, golden.LangId);
        Assert.Equal(golden.Logits.Length, logits.Length);
        float logitDiff = 0;
        for (int p = 0; p < logits.Length; p++)
        {
            logitDiff = Math.Max(logitDiff, Goldens.MaxDiff(logits[p], golden.Logits[p]));
            int[] top5 = new int[5];
            TopK.Select(logits[p], top5);
            Assert.Equal(golden.Top5Ids[p][0], top5[0]);
            // The order below the best is compared where the goldens' top-6 gaps leave room for rounding.
            if (golden.Top6MinGap[p] >= 1e-3)
                Assert.Equal(golden.Top5Ids[p], top5);
        }
        Assert.True(logitDiff <= LogitTolerance, $"{id}: logits differ by {logitDiff}");

        var hidden = new float[golden.InputIds.Length * model.Config.Geometry.EmbeddingDimension];
        model.EncodeIds(golden.InputIds, golden.LangId, hidden);
        float hiddenDiff = Goldens.MaxDiff(hidden, golden.HiddenStates.SelectMany(r => r).ToArray());
        Assert.True(hiddenDiff <= HiddenTolerance, $"{id}: hidden states differ by {hiddenDiff}");
        output.WriteLine($"{id}: T={golden.InputIds.Length} hidden {hiddenDiff:E2} logits {logitDiff:E2}");
    }

    [Fact]
    public void TextPathTokenizesAndScoresLikeTheGoldens()
    {
        foreach (var golden in CausalGoldens.Load(Fixture).Cases)
        {
            var score = Clm.Value.Score(golden.Text!, golden.Lang);
            Assert.Equal(golden.Tokens, score.Tokens);
            Assert.Equal(golden.InputIds, score.InputIds);
            Assert.Equal(golden.InputIds.Length - 1, score.TokenLogProbabilities.Count);
            double sum = 0;
            for (int p = 0; p + 1 < golden.InputIds.Length; p++)
            {
                var row = golden.Logits[p];
                double max = row.Max(), logSumExp = max + Math.Log(row.Sum(l => Math.Exp(l - max)));
                double expected = row[golden.InputIds[p + 1]] - logSumExp;
                Assert.True(Math.Abs(score.TokenLogProbabilities[p] - expected) <= 2 * LogitTolerance,
                    $"{golden.Id} position {p}: log p {score.TokenLogProbabilities[p]} vs {expected}");
                sum += score.TokenLogProbabilities[p];
            }
            Assert.Equal(sum, score.LogLikelihood, 9);
            Assert.Equal(Math.Exp(-sum / (golden.InputIds.Length - 1)), score.Perplexity, 9);

            var next = Clm.Value.NextTokenLogits(golden.Text!, golden.Lang);
            // <s> + tokens without </s>: the row before the last golden row
            Assert.True(Goldens.MaxDiff(next, golden.Logits[^2]) <= LogitTolerance);
        }
    }

    [Fact]
    public void ScoreIsTheLogSoftmaxOfNextTokenLogitsAtEveryPrefix()
    {
        var model = Clm.Value;
        foreach (var (text, lang) in new[] { ("the cat sat on the mat .", "en"), ("le chat est sur le tapis .", "fr"), ("x", "en") })
        {
            var score = model.Score(text, lang);
            int[] ids = [.. score.InputIds];
            int languageId = model.Tokenizer.LanguageIdOf(lang);
            var logits = new float[model.Config.Geometry.VocabularySize];
            double sum = 0;
            for (int p = 0; p + 1 < ids.Length; p++)
            {
                // One NextTokenLogits call per prefix: a recomputation from scratch, not the scoring pass.
                model.NextTokenLogits(ids.AsSpan(0, p + 1), languageId, logits);
                double max = logits.Max(), logSumExp = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
                double expected = logits[ids[p + 1]] - logSumExp;
                Assert.True(Math.Abs(score.TokenLogProbabilities[p] - expected) <= 1e-4, $"{text} position {p}: {score.TokenLogProbabilities[p]} vs {expected}");
                sum += expected;
            }
            Assert.True(Math.Abs(score.LogLikelihood - sum) <= 1e-4 * ids.Length);
            Assert.Equal(Math.Exp(-score.LogLikelihood / (ids.Length - 1)), score.Perplexity, 12);
            Assert.True(score.Perplexity > 1);
            Assert.Equal(score.TokenLogProbabilities, model.ScoreIds(ids, languageId).TokenLogProbabilities);
        }
    }

    [Fact]
    public void ResultsWriteTheConsolesJson()
    {
        var model = Clm.Value;
        var generated = model.Generate("le chat", "fr", 5);
        using (var doc = System.Text.Json.JsonDocument.Parse(generated.ToJson()))
        {
            var root = doc.RootElement;
            Assert.Equal(generated.Sequence, root.GetProperty("generated_text").GetString());
            Assert.Equal(generated.Text, root.GetProperty("text").GetString());
            Assert.Equal(generated.PromptIds, root.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(generated.GeneratedIds, root.GetProperty("generated_ids").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(generated.Tokens, root.GetProperty("generated_tokens").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(generated.StopReason == GenerationStopReason.MaxTokens ? "max_tokens" : "end_of_sentence", root.GetProperty("stop_reason").GetString());
        }
        var score = model.Score("le chat", "fr");
        using (var doc = System.Text.Json.JsonDocument.Parse(score.ToJson()))
        {
            var root = doc.RootElement;
            Assert.Equal(score.Tokens, root.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(score.InputIds, root.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(score.TokenLogProbabilities, root.GetProperty("token_log_probs").EnumerateArray().Select(e => e.GetDouble()));
            Assert.Equal(score.LogLikelihood, root.GetProperty("log_likelihood").GetDouble());
            Assert.Equal(score.Perplexity, root.GetProperty("perplexity").GetDouble());
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(12)]
    public void CachedStepsEqualFullRecomputation(int prefix)
    {
        var golden = CausalGoldens.Load(Fixture).Cases.MaxBy(c => c.InputIds.Length)!;
        var model = Clm.Value;

        var full = model.AllLogits(golden.InputIds, golden.LangId);
        var steps = model.CachedStepLogits(golden.InputIds, golden.LangId, prefix);

        float diff = 0;
        for (int s = 0; s < steps.Length; s++)
        {
            diff = Math.Max(diff, Goldens.MaxDiff(steps[s], full[prefix - 1 + s]));
            Assert.Equal(TokenArgMax(full[prefix - 1 + s]), TokenArgMax(steps[s]));
        }
        // Same arithmetic except the GEMM's summation order at one row versus many.
        Assert.True(diff <= 1e-5f, $"cached steps differ from the full run by {diff}");
        output.WriteLine($"prefix {prefix}: {steps.Length} steps, max |cached - full| = {diff:E2}");
    }

    [Fact]
    public void GreedyGenerationPicksTheArgMaxOfTheFullRecomputationAtEveryStep()
    {
        var model = Clm.Value;
        var result = model.Generate("The cat slept on the", "en", maxTokens: 12);

        Assert.Equal(model.Tokenizer.Encode("The cat slept on the", "en").Ids.SkipLast(1), result.PromptIds);
        Assert.InRange(result.GeneratedIds.Count, 1, 12);
        int[] sequence = [.. result.PromptIds];
        foreach (int id in result.GeneratedIds)
        {
            var logits = model.AllLogits(sequence, 0)[^1];
            Assert.Equal(TokenArgMax(logits), id);
            sequence = [.. sequence, id];
        }
        Assert.Equal(result.GeneratedIds.Contains(model.Tokenizer.EosId) ? GenerationStopReason.EndOfSentence : GenerationStopReason.MaxTokens,
            result.StopReason);
        Assert.Equal(result.GeneratedIds.Select(model.Tokenizer.TokenOf), result.Tokens);
        Assert.Equal(model.Tokenizer.Decode(sequence), result.Sequence);
    }

    [Fact]
    public void SeededGenerationIsReproducible()
    {
        var sampling = new SamplingOptions { Temperature = 1f, TopK = 40, TopP = 0.95f, Seed = 42 };
        var first = Clm.Value.Generate("Le chat", "fr", 20, sampling);
        var again = Clm.Value.Generate("Le chat", "fr", 20, sampling);
        using var reloaded = XlmModel.Load(TestModels.TinyClmEnfrPath, new XlmModelOptions { Threads = 1 });
        var elsewhere = reloaded.Generate("Le chat", "fr", 20, sampling);

        Assert.Equal(first.GeneratedIds, again.GeneratedIds);
        Assert.Equal(first.GeneratedIds, elsewhere.GeneratedIds);
        // Another seed draws other tokens (the random model's distributions are wide).
        var other = Clm.Value.Generate("Le chat", "fr", 20, sampling with { Seed = 43 });
        Assert.NotEqual(first.GeneratedIds, other.GeneratedIds);
        // Sampling is not greedy decoding.
        Assert.NotEqual(Clm.Value.Generate("Le chat", "fr", 20).GeneratedIds, first.GeneratedIds);
    }

    [Fact]
    public void GenerationStopsWhenTheContextIsFull()
    {
        var model = Clm.Value;
        int[] prompt = [model.Tokenizer.BosId, .. Enumerable.Repeat(15, model.Config.Geometry.ContextLength - 3)];
        var result = model.GenerateIds(prompt, 0, maxTokens: 10);
        Assert.InRange(result.GeneratedIds.Count, 1, 3);
        Assert.True(result.StopReason is GenerationStopReason.ContextFull or GenerationStopReason.EndOfSentence);
        // Two new tokens fill the context; the third is the prediction after its last position.
        Assert.True(result.StopReason != GenerationStopReason.ContextFull || prompt.Length + result.GeneratedIds.Count == model.Config.Geometry.ContextLength + 1);
    }

    [Fact]
    public void ACausalModelCannotFillMasksAndAMaskedModelCannotGenerate()
    {
        var e = Assert.Throws<InvalidInputException>(() => Clm.Value.FillMask("the <special1> sat", "en"));
        Assert.Contains("causal language model", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidInputException>(() => Clm.Value.FillMaskIds([0, 5, 1], 0));

        foreach (var call in new Action[]
                 {
                     () => Mlm.Value.Generate("the cat", "en", 5),
                     () => Mlm.Value.Score("the cat", "en"),
                     () => Mlm.Value.NextTokenLogits("the cat", "en"),
                     () => Mlm.Value.GenerateIds([0, 15], 0, 5),
                 })
        {
            e = Assert.Throws<InvalidInputException>(call);
            Assert.Contains("masked language model", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', e.Message);
        }
    }

    [Fact]
    public void BadArgumentsAreTypedErrors()
    {
        var model = Clm.Value;
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Generate("the cat", "en", 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Generate("the cat", "en", 5, new SamplingOptions { Temperature = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Generate("the cat", "en", 5, new SamplingOptions { Temperature = float.NaN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Generate("the cat", "en", 5, new SamplingOptions { Temperature = 1, TopP = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Generate("the cat", "en", 5, new SamplingOptions { Temperature = 1, TopK = -1 }));
        Assert.Throws<InvalidInputException>(() => model.Generate("the cat", "de", 5));
        Assert.Throws<InvalidInputException>(() => model.GenerateIds(new int[model.Config.Geometry.ContextLength + 1], 0, 5));
        Assert.Throws<InvalidInputException>(() => model.GenerateIds([0, model.Config.Geometry.VocabularySize], 0, 5));
        Assert.Throws<InvalidInputException>(() => model.ScoreIds([0], 0));
        Assert.Throws<ArgumentException>(() => model.NextTokenLogits([0, 15], 0, new float[10]));
    }

    private static int TokenArgMax(float[] logits)
    {
        int[] best = [0];
        TopK.Select(logits, best);
        return best[0];
    }
}
