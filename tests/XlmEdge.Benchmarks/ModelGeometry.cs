using System.Text.Json;

namespace XlmEdge.Benchmarks;

/// <summary>The sizes the benchmark needs from a checkpoint's config.json (HF XLMConfig names).</summary>
internal sealed record ModelGeometry(int VocabSize, int EmbeddingSize, int Layers, int Heads)
{
    public int FeedForwardSize => 4 * EmbeddingSize;

    /// <summary>Weights of the linear layers of all blocks: q, k, v, out (d x d) and the FFN (2 x 4d x d).</summary>
    public long EncoderLinearParameters => (long)Layers * 12 * EmbeddingSize * EmbeddingSize;

    public static ModelGeometry FromCheckpoint(string checkpointDir)
    {
        var path = Path.Combine(checkpointDir, "config.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        return new ModelGeometry(
            root.GetProperty("vocab_size").GetInt32(),
            root.GetProperty("emb_dim").GetInt32(),
            root.GetProperty("n_layers").GetInt32(),
            root.GetProperty("n_heads").GetInt32());
    }

    /// <summary>
    /// Floating-point operations of one call: the block GEMMs (2 per weight per token), attention
    /// scores and weighted sums (2 x 2 x T^2 x d per layer), and for fill-mask the output
    /// projection at the one mask of each sequence (2 x V x d).
    /// </summary>
    public double Flops(BenchCase c)
    {
        double t = c.Tokens;
        var perSequence = 2.0 * EncoderLinearParameters * t + 4.0 * t * t * EmbeddingSize * Layers;
        if (c.Kind == CaseKind.FillMask)
            perSequence += 2.0 * VocabSize * EmbeddingSize;
        return perSequence * c.Batch;
    }

    /// <summary>
    /// fp16 weight bytes one call must read at least once: the block matrices, plus the tied output
    /// embedding for fill-mask (biases and layer norms are negligible).
    /// </summary>
    public double WeightBytes(BenchCase c)
    {
        var bytes = 2.0 * EncoderLinearParameters;
        if (c.Kind == CaseKind.FillMask)
            bytes += 2.0 * VocabSize * EmbeddingSize;
        return bytes;
    }
}
