using XlmEdge.Weights;

namespace XlmEdge.Model;

/// <summary>A size a tensor dimension takes from the geometry.</summary>
internal enum TensorDim
{
    Vocabulary,
    Embedding,
    FeedForward,
    Context,
    Languages,
}

/// <summary>What a tensor is for, which decides the types it may be stored as (the dtype policy).</summary>
internal enum TensorRole
{
    /// <summary>An embedding table [rows, d]: rows are looked up; the word embeddings are also the output projection.</summary>
    Embedding,
    /// <summary>A Linear weight [out, in] inside a block, streamed by the GEMM kernels.</summary>
    Linear,
    /// <summary>A bias or layer-norm gain/shift: always F32.</summary>
    Vector,
}

/// <summary>
/// One tensor of the XLM architecture: its GGUF name, its Hugging Face state-dict name, its shape as a
/// function of the geometry and its role (the dtype policy). Names of per-block tensors hold "{i}".
/// </summary>
internal sealed class TensorSpec
{
    private readonly Func<XlmGeometry, bool>? _present;

    public TensorSpec(string name, TensorRole role, TensorDim[] shape, bool perBlock = false,
        Func<XlmGeometry, bool>? presentWhen = null, string? tiedHfName = null)
    {
        GgufName = name;
        HfName = name;
        Role = role;
        Shape = shape;
        PerBlock = perBlock;
        TiedHfName = tiedHfName;
        _present = presentWhen;
    }

    /// <summary>Name in the GGUF file ("{i}" for the block index). The same as HF's: files written so far use these names.</summary>
    public string GgufName { get; }
    /// <summary>Name in a Hugging Face checkpoint's state dict ("{i}" for the block index).</summary>
    public string HfName { get; }
    /// <summary>
    /// A state-dict entry HF ties to this tensor (<c>pred_layer.proj.weight</c> shares the word
    /// embeddings' storage): not stored; a checkpoint may hold it only with the same values.
    /// </summary>
    public string? TiedHfName { get; }
    public TensorRole Role { get; }
    /// <summary>Dimensions in PyTorch order, outermost first.</summary>
    public IReadOnlyList<TensorDim> Shape { get; }
    /// <summary>One tensor per block rather than one per model.</summary>
    public bool PerBlock { get; }
    public bool IsMatrix => Role != TensorRole.Vector;

    /// <summary>Whether a model of geometry <paramref name="g"/> has this tensor.</summary>
    public bool IsPresentIn(XlmGeometry g) => _present?.Invoke(g) ?? true;

    public string GgufNameOf(int block) => Resolve(GgufName, block);
    public string HfNameOf(int block) => Resolve(HfName, block);

    public long[] ShapeIn(XlmGeometry g)
    {
        var shape = new long[Shape.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            shape[i] = Shape[i] switch
            {
                TensorDim.Vocabulary => g.VocabularySize,
                TensorDim.Embedding => g.EmbeddingDimension,
                TensorDim.FeedForward => g.FeedForwardDimension,
                TensorDim.Context => g.ContextLength,
                TensorDim.Languages => g.LanguageCount,
                _ => throw new InvalidOperationException($"unknown dimension {Shape[i]}"),
            };
        }
        return shape;
    }

    /// <summary>The type pack stores this tensor as: vectors F32, matrices the chosen matrix type.</summary>
    public GgufTensorType StoredType(GgufTensorType matrixType) => IsMatrix ? matrixType : GgufTensorType.F32;

    /// <summary>Whether the runtime reads this tensor stored as <paramref name="type"/>.</summary>
    public bool Accepts(GgufTensorType type) => IsMatrix ? type is GgufTensorType.F16 or GgufTensorType.F32 : type == GgufTensorType.F32;

    /// <summary>The types <see cref="Accepts"/> takes, for messages.</summary>
    public string AcceptedTypes => IsMatrix ? "F16 or F32" : "F32 for a 1-D tensor";

    private string Resolve(string template, int block)
    {
        if (PerBlock != block >= 0)
            throw new ArgumentOutOfRangeException(nameof(block), PerBlock ? $"{template} needs a block index" : $"{template} is not per block");
        return PerBlock ? template.Replace("{i}", block.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal) : template;
    }
}

/// <summary>One tensor of a model of a given geometry: its spec, block, names and shape.</summary>
internal sealed record TensorInstance(TensorSpec Spec, int Block, string GgufName, string HfName, long[] Shape);

/// <summary>
/// The tensors of an XLM model (HF <c>XLMWithLMHeadModel</c>), declared once: the weights tool packs
/// them, <c>verify</c> and the runtime's binding check them, and the tests build checkpoints from them.
/// To add a tensor, declare it here and bind it in <see cref="XlmWeights"/>.
/// </summary>
internal static class XlmTensors
{
    private static readonly TensorDim[] Vector = [TensorDim.Embedding];
    private static readonly TensorDim[] Square = [TensorDim.Embedding, TensorDim.Embedding];

    public static readonly TensorSpec PositionEmbeddings = new("transformer.position_embeddings.weight", TensorRole.Embedding, [TensorDim.Context, TensorDim.Embedding]);
    public static readonly TensorSpec LanguageEmbeddings = new("transformer.lang_embeddings.weight", TensorRole.Embedding, [TensorDim.Languages, TensorDim.Embedding],
        presentWhen: g => g.UsesLanguageEmbeddings);
    /// <summary>The word embeddings, also the output projection (HF ties pred_layer.proj.weight to them).</summary>
    public static readonly TensorSpec WordEmbeddings = new("transformer.embeddings.weight", TensorRole.Embedding, [TensorDim.Vocabulary, TensorDim.Embedding],
        tiedHfName: "pred_layer.proj.weight");
    public static readonly TensorSpec EmbeddingNormWeight = new("transformer.layer_norm_emb.weight", TensorRole.Vector, Vector);
    public static readonly TensorSpec EmbeddingNormBias = new("transformer.layer_norm_emb.bias", TensorRole.Vector, Vector);

    public static readonly TensorSpec Query = Block("transformer.attentions.{i}.q_lin.weight", TensorRole.Linear, Square);
    public static readonly TensorSpec QueryBias = Block("transformer.attentions.{i}.q_lin.bias", TensorRole.Vector, Vector);
    public static readonly TensorSpec Key = Block("transformer.attentions.{i}.k_lin.weight", TensorRole.Linear, Square);
    public static readonly TensorSpec KeyBias = Block("transformer.attentions.{i}.k_lin.bias", TensorRole.Vector, Vector);
    public static readonly TensorSpec Value = Block("transformer.attentions.{i}.v_lin.weight", TensorRole.Linear, Square);
    public static readonly TensorSpec ValueBias = Block("transformer.attentions.{i}.v_lin.bias", TensorRole.Vector, Vector);
    public static readonly TensorSpec Output = Block("transformer.attentions.{i}.out_lin.weight", TensorRole.Linear, Square);
    public static readonly TensorSpec OutputBias = Block("transformer.attentions.{i}.out_lin.bias", TensorRole.Vector, Vector);
    public static readonly TensorSpec Norm1Weight = Block("transformer.layer_norm1.{i}.weight", TensorRole.Vector, Vector);
    public static readonly TensorSpec Norm1Bias = Block("transformer.layer_norm1.{i}.bias", TensorRole.Vector, Vector);
    public static readonly TensorSpec FeedForward1 = Block("transformer.ffns.{i}.lin1.weight", TensorRole.Linear, [TensorDim.FeedForward, TensorDim.Embedding]);
    public static readonly TensorSpec FeedForward1Bias = Block("transformer.ffns.{i}.lin1.bias", TensorRole.Vector, [TensorDim.FeedForward]);
    public static readonly TensorSpec FeedForward2 = Block("transformer.ffns.{i}.lin2.weight", TensorRole.Linear, [TensorDim.Embedding, TensorDim.FeedForward]);
    public static readonly TensorSpec FeedForward2Bias = Block("transformer.ffns.{i}.lin2.bias", TensorRole.Vector, Vector);
    public static readonly TensorSpec Norm2Weight = Block("transformer.layer_norm2.{i}.weight", TensorRole.Vector, Vector);
    public static readonly TensorSpec Norm2Bias = Block("transformer.layer_norm2.{i}.bias", TensorRole.Vector, Vector);

    public static readonly TensorSpec PredictionBias = new("pred_layer.proj.bias", TensorRole.Vector, [TensorDim.Vocabulary]);

    /// <summary>
    /// Every tensor in file order: the embeddings, each block's tensors block by block (in the
    /// order listed here), then the output bias.
    /// </summary>
    public static IReadOnlyList<TensorSpec> All { get; } =
    [
        PositionEmbeddings, LanguageEmbeddings, WordEmbeddings, EmbeddingNormWeight, EmbeddingNormBias,
        Query, QueryBias, Key, KeyBias, Value, ValueBias, Output, OutputBias, Norm1Weight, Norm1Bias,
        FeedForward1, FeedForward1Bias, FeedForward2, FeedForward2Bias, Norm2Weight, Norm2Bias,
        PredictionBias,
    ];

    /// <summary>Number of tensors a model of geometry <paramref name="g"/> has.</summary>
    public static int CountIn(XlmGeometry g) =>
        All.Sum(s => !s.IsPresentIn(g) ? 0 : s.PerBlock ? g.Layers : 1);

    /// <summary>The tensors of a model of geometry <paramref name="g"/>, in file order.</summary>
    public static IEnumerable<TensorInstance> In(XlmGeometry g)
    {
        for (int s = 0; s < All.Count; s++)
        {
            if (!All[s].PerBlock)
            {
                if (All[s].IsPresentIn(g))
                    yield return Instance(All[s], -1, g);
                continue;
            }
            int end = s;
            while (end < All.Count && All[end].PerBlock)
                end++;
            for (int block = 0; block < g.Layers; block++)
            {
                for (int b = s; b < end; b++)
                {
                    if (All[b].IsPresentIn(g))
                        yield return Instance(All[b], block, g);
                }
            }
            s = end - 1;
        }
    }

    private static TensorInstance Instance(TensorSpec spec, int block, XlmGeometry g) =>
        new(spec, block, spec.GgufNameOf(block), spec.HfNameOf(block), spec.ShapeIn(g));

    private static TensorSpec Block(string name, TensorRole role, TensorDim[] shape) => new(name, role, shape, perBlock: true);
}
