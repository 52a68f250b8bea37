namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>
/// The tensors an HF XLMWithLMHeadModel checkpoint must hold for a config, with their PyTorch
/// shapes, in HF's state-dict order. The tied output projection (pred_layer.proj.weight) is not
/// listed: the runtime uses transformer.embeddings.weight for it.
/// </summary>
internal static class XlmTensorLayout
{
    public const string TiedProjection = "pred_layer.proj.weight";
    public const string Embeddings = "transformer.embeddings.weight";

    public static IReadOnlyList<(string Name, long[] Shape)> Expected(HfConfig c)
    {
        long d = c.EmbDim, v = c.VocabSize, f = c.FeedForwardLength;
        var list = new List<(string, long[])> { ("transformer.position_embeddings.weight", [c.MaxPositionEmbeddings, d]) };
        if (c.HasLangEmbeddings)
            list.Add(("transformer.lang_embeddings.weight", [c.NLangs, d]));
        list.Add((Embeddings, [v, d]));
        list.Add(("transformer.layer_norm_emb.weight", [d]));
        list.Add(("transformer.layer_norm_emb.bias", [d]));
        for (int i = 0; i < c.NLayers; i++)
        {
            foreach (var lin in (string[])["q_lin", "k_lin", "v_lin", "out_lin"])
            {
                list.Add(($"transformer.attentions.{i}.{lin}.weight", [d, d]));
                list.Add(($"transformer.attentions.{i}.{lin}.bias", [d]));
            }
            list.Add(($"transformer.layer_norm1.{i}.weight", [d]));
            list.Add(($"transformer.layer_norm1.{i}.bias", [d]));
            list.Add(($"transformer.ffns.{i}.lin1.weight", [f, d]));
            list.Add(($"transformer.ffns.{i}.lin1.bias", [f]));
            list.Add(($"transformer.ffns.{i}.lin2.weight", [d, f]));
            list.Add(($"transformer.ffns.{i}.lin2.bias", [d]));
            list.Add(($"transformer.layer_norm2.{i}.weight", [d]));
            list.Add(($"transformer.layer_norm2.{i}.bias", [d]));
        }
        list.Add(("pred_layer.proj.bias", [v]));
        return list;
    }
}
