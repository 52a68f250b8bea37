using XlmEdge.Model;
using XlmEdge.Weights;

namespace XlmEdge.Tests.Weights;

/// <summary>
/// The tensor schema against checkpoints written by PyTorch (the fixtures were saved by the
/// reference code, not derived from the schema), and its expansion for a geometry.
/// </summary>
public class XlmTensorsTests
{
    [Theory]
    [InlineData("tiny-enfr")]
    [InlineData("other-geometry")]
    public void TheSchemaNamesExactlyTheFixtureCheckpointsTensorsWithTheirShapes(string fixture)
    {
        string dir = Path.Combine(Fixtures.Root, fixture);
        var geometry = Geometry(dir);
        var checkpoint = TestSafetensors.Read(Path.Combine(dir, "model.safetensors"));
        var schema = XlmTensors.In(geometry).ToList();
        Assert.Equal(checkpoint.Keys.Order(StringComparer.Ordinal), schema.Select(t => t.HfName).Order(StringComparer.Ordinal));
        foreach (var t in schema)
            Assert.Equal(checkpoint[t.HfName].Shape, t.Shape);
        Assert.Equal(schema.Count, XlmTensors.CountIn(geometry));
        Assert.Equal(geometry.UsesLanguageEmbeddings, schema.Any(t => t.Spec == XlmTensors.LanguageEmbeddings));
    }

    [Fact]
    public void FileOrderIsEmbeddingsThenBlockByBlockThenTheOutputBias()
    {
        var names = XlmTensors.In(new XlmGeometry(24, 8, layers: 2, heads: 2, 2, true, 16, 1e-12f, false)).Select(t => t.GgufName).ToList();
        Assert.Equal("transformer.position_embeddings.weight", names[0]);
        Assert.Equal("pred_layer.proj.bias", names[^1]);
        int firstOfBlock1 = names.IndexOf("transformer.attentions.1.q_lin.weight");
        Assert.True(names.IndexOf("transformer.layer_norm2.0.bias") == firstOfBlock1 - 1, "block 0 ends right before block 1 starts");
    }

    [Fact]
    public void DtypePolicyKeepsVectorsF32()
    {
        foreach (var spec in XlmTensors.All)
        {
            Assert.Equal(spec.IsMatrix ? GgufTensorType.F16 : GgufTensorType.F32, spec.StoredType(GgufTensorType.F16));
            Assert.True(spec.Accepts(spec.StoredType(GgufTensorType.F16)));
            Assert.True(spec.Accepts(GgufTensorType.F32));
            Assert.Equal(spec.Shape.Count == 2, spec.IsMatrix);
        }
    }

    private static XlmGeometry Geometry(string checkpoint)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(checkpoint, "config.json")));
        var c = doc.RootElement;
        return new XlmGeometry(c.GetProperty("vocab_size").GetInt32(), c.GetProperty("emb_dim").GetInt32(), c.GetProperty("n_layers").GetInt32(),
            c.GetProperty("n_heads").GetInt32(), c.GetProperty("n_langs").GetInt32(), c.GetProperty("use_lang_emb").GetBoolean(),
            c.GetProperty("max_position_embeddings").GetInt32(), (float)c.GetProperty("layer_norm_eps").GetDouble(), c.GetProperty("causal").GetBoolean());
    }
}
