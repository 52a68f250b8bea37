using XlmEdge.Model;
using XlmEdge.WeightsTool.Checkpoints;

namespace XlmEdge.Benchmarks;

/// <summary>
/// The model a benchmark measures: its geometry, read from the checkpoint's config.json by the weights tool's own
/// reader (<see cref="HfConfig"/>), and the sizes the floor needs, summed from the tensor schema
/// (<see cref="XlmTensors"/>), so that the benchmark states no shape of its own.
/// </summary>
internal sealed record ModelGeometry(XlmGeometry Geometry)
{
    public int VocabSize => Geometry.VocabularySize;
    public int EmbeddingSize => Geometry.EmbeddingDimension;
    public int Layers => Geometry.Layers;
    public int Heads => Geometry.Heads;

    /// <summary>Weights of the blocks' Linears (q, k, v, out and the FFN's two, every block), from the schema.</summary>
    public long EncoderLinearParameters => XlmTensors.In(Geometry).Where(t => t.Spec.Role == TensorRole.Linear)
        .Sum(t => t.Shape.Aggregate(1L, (size, dim) => size * dim));

    public static ModelGeometry FromCheckpoint(string checkpointDir) => new(HfConfig.Load(checkpointDir, _ => { }).Geometry);

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
