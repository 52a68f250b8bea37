using System.Text.Json;
using XlmEdge.Kernels;
using XlmEdge.Model;
using XlmEdge.Tests.Model;
using XlmEdge.Weights;
using Xunit.Abstractions;

namespace XlmEdge.Tests.Generators;

/// <summary>
/// The generated tiny-enfr forward against the generic one on the goldens' inputs. The generated blocks are
/// their own code (kernels called on the width and dtype chosen at load with the shapes as constants, not
/// XlmEncoder.RunBlock), yet they add the same terms in the same order with the same kernels,
/// so their results must be bit-identical, not just close; the goldens also bound both. On the scalar path
/// no generated forward runs (it instantiates vector widths only).
/// </summary>
public sealed class GeneratedForwardTests(ITestOutputHelper output) : IDisposable
{
    private const float HiddenTolerance = 5e-5f;
    private const float LogitTolerance = 1e-4f;

    private readonly GgufFile _file = GgufFile.Open(TestModels.TinyEnfrPath);
    private readonly WorkerPool _pool = new(Math.Min(4, Environment.ProcessorCount));

    public void Dispose()
    {
        _pool.Dispose();
        _file.Dispose();
    }

    [Fact]
    public void LoadingTinyEnfrTakesTheGeneratedForward()
    {
        using var model = XlmModel.Load(TestModels.TinyEnfrPath);
        Assert.Same(CpuFeatures.Selected == SimdPath.Scalar ? null : XlmPresets.TinyEnfr, model.GeneratedForward);
        // The fixture geometry runs generated code but is no public preset.
        Assert.Null(XlmPresets.Find(model.Config));
    }

    [Fact]
    public void UseGeneratedForwardFalseTakesTheGenericForwardOnAPresetGeometry()
    {
        using var model = XlmModel.Load(TestModels.TinyEnfrPath, new XlmModelOptions { UseGeneratedForward = false });
        Assert.Null(model.GeneratedForward);
        // The same file without the option runs the generated code, so the option is what differs.
        using var generated = XlmModel.Load(TestModels.TinyEnfrPath);
        Assert.Same(CpuFeatures.Selected == SimdPath.Scalar ? null : XlmPresets.TinyEnfr, generated.GeneratedForward);
    }

    [Fact]
    public void OtherGeometryTakesTheGenericForward()
    {
        using var model = XlmModel.Load(TestModels.OtherGeometryPath);
        Assert.Null(model.GeneratedForward);
        Assert.Null(XlmPresets.Find(model.Config));
    }

    [Fact]
    public void CatalogueHoldsTheShippedPresets()
    {
        var files = Directory.GetFiles(GeneratorHarness.PresetsFolder, "*.xlm.json")
            .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement)
            .Where(p => !(p.TryGetProperty("test_fixture", out var fixture) && fixture.GetBoolean()))
            .OrderBy(p => p.GetProperty("name").GetString(), StringComparer.Ordinal)
            .ToArray();
        Assert.Equal(files.Select(p => p.GetProperty("name").GetString()), XlmPresets.All.Select(p => p.Name));
        for (int i = 0; i < files.Length; i++)
        {
            var json = files[i];
            var preset = XlmPresets.All[i];
            Assert.Equal(json.GetProperty("hub_id").ValueKind == JsonValueKind.Null ? null : json.GetProperty("hub_id").GetString(), preset.HubId);
            Assert.Equal(json.GetProperty("vocab_size").GetInt32(), preset.Geometry.VocabularySize);
            Assert.Equal(json.GetProperty("emb_dim").GetInt32(), preset.Geometry.EmbeddingDimension);
            Assert.Equal(json.GetProperty("n_layers").GetInt32(), preset.Geometry.Layers);
            Assert.Equal(json.GetProperty("n_heads").GetInt32(), preset.Geometry.Heads);
            Assert.Equal(json.GetProperty("n_langs").GetInt32(), preset.Geometry.LanguageCount);
            Assert.Equal(json.GetProperty("max_position_embeddings").GetInt32(), preset.Geometry.ContextLength);
            Assert.Equal((float)json.GetProperty("layer_norm_eps").GetDouble(), preset.Geometry.LayerNormEpsilon);
            Assert.False(preset.IsTestFixture);
        }
        Assert.DoesNotContain(XlmPresets.TinyEnfr, XlmPresets.All);
        Assert.Null(typeof(XlmPresets).GetProperty(nameof(XlmPresets.TinyEnfr)));
        Assert.NotNull(typeof(XlmPresets).GetProperty(nameof(XlmPresets.TinyEnfr), System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic));
        Assert.True(XlmPresets.TinyEnfr.IsTestFixture);
        Assert.False(XlmPresets.XlmMlmEnfr1024.IsTestFixture);
        // Every released XLM checkpoint, each with its hub id.
        string[] released =
        [
            "xlm-clm-ende-1024", "xlm-clm-enfr-1024", "xlm-mlm-100-1280", "xlm-mlm-17-1280", "xlm-mlm-en-2048",
            "xlm-mlm-ende-1024", "xlm-mlm-enfr-1024", "xlm-mlm-enro-1024", "xlm-mlm-tlm-xnli15-1024", "xlm-mlm-xnli15-1024",
        ];
        Assert.Equal(released, XlmPresets.All.Where(p => !p.IsTestFixture).Select(p => p.Name));
        Assert.All(XlmPresets.All.Where(p => !p.IsTestFixture), p => Assert.Equal("FacebookAI/" + p.Name, p.HubId));
        Assert.All(XlmPresets.All, p => Assert.Equal(p.Name.StartsWith("xlm-clm-", StringComparison.Ordinal), p.Geometry.IsCausal));
    }

    [Fact]
    public void GeneratedAndGenericForwardsAgreeBitForBitOnEveryGoldenCase()
    {
        var (config, weights, generated, generic) = Encoders();
        int d = config.Geometry.EmbeddingDimension;
        foreach (var golden in Goldens.Load("tiny-enfr").Cases)
        {
            int[] ids = golden.InputIds;
            var fast = generated.Encode(ids, [ids.Length], [golden.LangId]).ToArray();
            var slow = generic.Encode(ids, [ids.Length], [golden.LangId]).ToArray();
            AssertBitIdentical(slow, fast, $"{golden.Id} hidden states");
            float hiddenDiff = MaxDiff(fast, [.. golden.HiddenStates.SelectMany(r => r)]);
            Assert.True(hiddenDiff <= HiddenTolerance, $"{golden.Id}: generated hidden states differ from the golden by {hiddenDiff}");

            var fastLogits = MaskLogits(weights, config, fast, golden.MaskPositions);
            var slowLogits = MaskLogits(weights, config, slow, golden.MaskPositions);
            AssertBitIdentical(slowLogits, fastLogits, $"{golden.Id} logits");
            float logitDiff = MaxDiff(fastLogits, [.. golden.Masks.SelectMany(m => m.Logits)]);
            Assert.True(logitDiff <= LogitTolerance, $"{golden.Id}: generated logits differ from the golden by {logitDiff}");
            output.WriteLine($"{golden.Id}: T={ids.Length} bit-identical; vs golden hidden {hiddenDiff:E2} logits {logitDiff:E2}");
            Assert.Equal(ids.Length * d, fast.Length);
        }
    }

    [Fact]
    public void GeneratedAndGenericForwardsAgreeBitForBitOnGoldenBatches()
    {
        var (_, _, generated, generic) = Encoders();
        foreach (var batch in Goldens.Load("tiny-enfr").Batches)
        {
            int[] ids = [.. batch.Items.SelectMany(i => i.InputIds)];
            int[] lengths = [.. batch.Items.Select(i => i.InputIds.Length)];
            int[] languages = [.. batch.Items.Select(i => i.LangId)];
            var fast = generated.Encode(ids, lengths, languages).ToArray();
            var slow = generic.Encode(ids, lengths, languages).ToArray();
            AssertBitIdentical(slow, fast, $"batch {batch.Id}");
        }
    }

    /// <summary>
    /// Fill-mask finishes the last block on its mask rows only (<see cref="XlmEncoder.KeepRows"/>): every step after
    /// the last attention works row by row, so the kept rows must be bit for bit the same rows of a whole call, on
    /// both forwards, whichever rows are kept (masks, the first or last row, rows of every sentence of a batch).
    /// </summary>
    [Fact]
    public void KeptRowsAreThoseRowsOfTheWholeCallBitForBit()
    {
        var (config, _, generated, generic) = Encoders();
        int d = config.Geometry.EmbeddingDimension;
        foreach (var batch in Goldens.Load("tiny-enfr").Batches)
        {
            int[] ids = [.. batch.Items.SelectMany(i => i.InputIds)];
            int[] lengths = [.. batch.Items.Select(i => i.InputIds.Length)];
            int[] languages = [.. batch.Items.Select(i => i.LangId)];
            int T = ids.Length;
            int[] masks = [.. Enumerable.Range(0, T).Where(r => ids[r] == config.MaskId)];
            Assert.NotEmpty(masks);
            int[][] keeps =
            [
                masks, [0], [T - 1], [.. Enumerable.Range(0, T).Where(r => r % 3 == 1)],
                [.. Enumerable.Range(0, T).Where(r => r != T / 2)],
            ];
            foreach (var (name, encoder) in new[] { ("generated", generated), ("generic", generic) })
            {
                var whole = encoder.Encode(ids, lengths, languages).ToArray();
                foreach (var keep in keeps)
                {
                    var kept = encoder.Encode(ids, lengths, languages, keep).ToArray();
                    float[] expected = [.. keep.SelectMany(r => whole.AsSpan(r * d, d).ToArray())];
                    AssertBitIdentical(expected, kept, $"batch {batch.Id}, {name}, rows {string.Join(",", keep)}", "with the rows kept", "in the whole call");
                }
            }
        }
    }

    [Theory]
    [InlineData(new[] { 2, 1 })]
    [InlineData(new[] { 1, 1 })]
    [InlineData(new[] { -1, 0 })]
    [InlineData(new[] { 0, 7 })]
    public void RowsToKeepMustBeStrictlyIncreasingIndicesOfTheCall(int[] keep)
    {
        var (_, _, generated, _) = Encoders();
        int[] ids = [0, 20, 21, 22, 23, 24, 1];
        var e = Assert.Throws<ArgumentException>(() => generated.Encode(ids, [ids.Length], [0], keep));
        Assert.Contains("strictly increasing indices below 7", e.Message);
    }

    [Fact]
    public void GeneratedForwardAllocatesNothingPerCall()
    {
        var (_, _, generated, _) = Encoders();
        var golden = Goldens.Load("tiny-enfr").Cases.MaxBy(c => c.InputIds.Length)!;
        int[] ids = golden.InputIds;
        int[] lengths = [ids.Length];
        int[] languages = [golden.LangId];
        generated.Encode(ids, lengths, languages);

        var windows = AllocationWindows.Measure(() => generated.Encode(ids, lengths, languages), callsPerWindow: 10);
        Assert.True(windows.Min() == 0, $"every window of 10 calls allocated: {string.Join(", ", windows)} bytes");
    }

    private (XlmConfig Config, XlmWeights Weights, XlmEncoder Generated, XlmEncoder Generic) Encoders()
    {
        var (config, _, weights) = ModelFile.Open(_file);
        var generated = new XlmEncoder(config, weights, _pool);
        var generic = new XlmEncoder(config, weights, _pool, useGenerated: false);
        Assert.Same(CpuFeatures.Selected == SimdPath.Scalar ? null : XlmPresets.TinyEnfr, generated.GeneratedPreset);
        Assert.Null(generic.GeneratedPreset);
        return (config, weights, generated, generic);
    }

    /// <summary>The output layer at the mask rows, as XlmModel computes it.</summary>
    private float[] MaskLogits(XlmWeights weights, XlmConfig config, float[] hidden, int[] maskPositions)
    {
        int d = config.Geometry.EmbeddingDimension;
        var rows = new float[maskPositions.Length * d];
        for (int m = 0; m < maskPositions.Length; m++)
            hidden.AsSpan(maskPositions[m] * d, d).CopyTo(rows.AsSpan(m * d));
        var logits = new float[maskPositions.Length * config.Geometry.VocabularySize];
        weights.WordEmbeddings.Linear(_pool, rows, maskPositions.Length, weights.OutputBias.Span, logits);
        return logits;
    }

    private static void AssertBitIdentical(float[] expected, float[] actual, string what,
        string actualSource = "on the generated path", string expectedSource = "on the generic one")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]:R} {actualSource}, {expected[i]:R} {expectedSource}");
        }
    }

    private static float MaxDiff(float[] a, float[] b)
    {
        Assert.Equal(b.Length, a.Length);
        return a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
    }
}
