using XlmEdge.Kernels;
using XlmEdge.Weights;

namespace XlmEdge.Model;

/// <summary>A weight matrix [Rows, Columns] (HF Linear layout [out, in]) viewed in place in the mapping.</summary>
internal readonly unsafe struct WeightMatrix(void* data, int rows, int columns, bool isHalf)
{
    public int Rows { get; } = rows;
    public int Columns { get; } = columns;
    public bool IsHalf { get; } = isHalf;

    public ReadOnlySpan<Half> Half => IsHalf ? new(data, Rows * Columns) : throw new InvalidOperationException("matrix is F32");
    public ReadOnlySpan<float> Single => IsHalf ? throw new InvalidOperationException("matrix is F16") : new(data, Rows * Columns);

    /// <summary>Row <paramref name="row"/> converted to fp32 (embedding lookups).</summary>
    public void CopyRow(int row, Span<float> destination)
    {
        if (IsHalf)
            HalfConversion.ToSingle(Half.Slice(row * Columns, Columns), destination);
        else
            Single.Slice(row * Columns, Columns).CopyTo(destination);
    }

    /// <summary>Adds row <paramref name="row"/> to <paramref name="destination"/>.</summary>
    public void AddRow(int row, Span<float> destination, Span<float> scratch)
    {
        CopyRow(row, scratch);
        System.Numerics.Tensors.TensorPrimitives.Add(destination, scratch, destination);
    }

    /// <summary>y[T, Rows] = x[T, Columns] W^T + bias, optionally followed by GELU.</summary>
    public void Linear(WorkerPool pool, ReadOnlySpan<float> x, int tokens, ReadOnlySpan<float> bias, Span<float> y,
        Activation activation = Activation.None)
    {
        if (IsHalf)
            Kernels.Linear.Forward(pool, x, tokens, Columns, Half, Rows, bias, y, activation);
        else
            Kernels.Linear.Forward(pool, x, tokens, Columns, Single, Rows, bias, y, activation);
    }

    /// <summary>
    /// Three projections of one input (q, k and v): x is packed once and the three run as one pool call
    /// when the matrices share their shape and type; otherwise three single calls.
    /// </summary>
    public static void Linear(WorkerPool pool, ReadOnlySpan<float> x, int tokens,
        WeightMatrix a, ReadOnlySpan<float> biasA, Span<float> yA,
        WeightMatrix b, ReadOnlySpan<float> biasB, Span<float> yB,
        WeightMatrix c, ReadOnlySpan<float> biasC, Span<float> yC)
    {
        bool alike = a.IsHalf == b.IsHalf && a.IsHalf == c.IsHalf
            && a.Rows == b.Rows && a.Rows == c.Rows && a.Columns == b.Columns && a.Columns == c.Columns;
        if (!alike)
        {
            a.Linear(pool, x, tokens, biasA, yA);
            b.Linear(pool, x, tokens, biasB, yB);
            c.Linear(pool, x, tokens, biasC, yC);
        }
        else if (a.IsHalf)
            Kernels.Linear.Forward(pool, x, tokens, a.Columns, a.Rows, new(a.Half, biasA, yA), new(b.Half, biasB, yB), new Projection<Half>(c.Half, biasC, yC));
        else
            Kernels.Linear.Forward(pool, x, tokens, a.Columns, a.Rows, new(a.Single, biasA, yA), new(b.Single, biasB, yB), new Projection<float>(c.Single, biasC, yC));
    }
}

/// <summary>A 1-D F32 tensor (bias, layer-norm gain or shift) viewed in place in the mapping.</summary>
internal readonly unsafe struct WeightVector(float* data, int length)
{
    public ReadOnlySpan<float> Span => new(data, length);
}

/// <summary>One post-norm transformer block's weights, HF names in comments.</summary>
internal sealed class XlmBlock
{
    public required WeightMatrix Query, Key, Value, Output;          // attentions.{i}.{q,k,v,out}_lin.weight
    public required WeightVector QueryBias, KeyBias, ValueBias, OutputBias;
    public required WeightVector Norm1Weight, Norm1Bias;             // layer_norm1.{i}
    public required WeightMatrix FeedForward1, FeedForward2;         // ffns.{i}.lin1 / lin2
    public required WeightVector FeedForward1Bias, FeedForward2Bias;
    public required WeightVector Norm2Weight, Norm2Bias;             // layer_norm2.{i}
}

/// <summary>
/// Every tensor of the model, looked up by its Hugging Face name and shape-checked once at load.
/// The views point into the mapped file, so the <see cref="GgufFile"/> must outlive this object.
/// </summary>
internal sealed unsafe class XlmWeights
{
    public required WeightMatrix WordEmbeddings { get; init; }       // transformer.embeddings.weight, tied to pred_layer.proj.weight
    public required WeightMatrix PositionEmbeddings { get; init; }   // transformer.position_embeddings.weight
    public required WeightMatrix? LanguageEmbeddings { get; init; }  // transformer.lang_embeddings.weight
    public required WeightVector EmbeddingNormWeight { get; init; }  // transformer.layer_norm_emb
    public required WeightVector EmbeddingNormBias { get; init; }
    public required XlmBlock[] Blocks { get; init; }
    public required WeightVector OutputBias { get; init; }           // pred_layer.proj.bias

    public static XlmWeights Bind(GgufFile file, XlmConfig c)
    {
        int d = c.EmbeddingDimension;
        var blocks = new XlmBlock[c.Layers];
        for (int i = 0; i < c.Layers; i++)
        {
            string a = $"transformer.attentions.{i}.";
            string f = $"transformer.ffns.{i}.";
            blocks[i] = new XlmBlock
            {
                Query = Matrix(file, a + "q_lin.weight", d, d),
                Key = Matrix(file, a + "k_lin.weight", d, d),
                Value = Matrix(file, a + "v_lin.weight", d, d),
                Output = Matrix(file, a + "out_lin.weight", d, d),
                QueryBias = Vector(file, a + "q_lin.bias", d),
                KeyBias = Vector(file, a + "k_lin.bias", d),
                ValueBias = Vector(file, a + "v_lin.bias", d),
                OutputBias = Vector(file, a + "out_lin.bias", d),
                Norm1Weight = Vector(file, $"transformer.layer_norm1.{i}.weight", d),
                Norm1Bias = Vector(file, $"transformer.layer_norm1.{i}.bias", d),
                FeedForward1 = Matrix(file, f + "lin1.weight", c.FeedForwardDimension, d),
                FeedForward1Bias = Vector(file, f + "lin1.bias", c.FeedForwardDimension),
                FeedForward2 = Matrix(file, f + "lin2.weight", d, c.FeedForwardDimension),
                FeedForward2Bias = Vector(file, f + "lin2.bias", d),
                Norm2Weight = Vector(file, $"transformer.layer_norm2.{i}.weight", d),
                Norm2Bias = Vector(file, $"transformer.layer_norm2.{i}.bias", d),
            };
        }
        return new XlmWeights
        {
            WordEmbeddings = Matrix(file, "transformer.embeddings.weight", c.VocabularySize, d),
            PositionEmbeddings = Matrix(file, "transformer.position_embeddings.weight", c.ContextLength, d),
            LanguageEmbeddings = c.UsesLanguageEmbeddings
                ? Matrix(file, "transformer.lang_embeddings.weight", c.Languages.Count, d)
                : null,
            EmbeddingNormWeight = Vector(file, "transformer.layer_norm_emb.weight", d),
            EmbeddingNormBias = Vector(file, "transformer.layer_norm_emb.bias", d),
            Blocks = blocks,
            OutputBias = Vector(file, "pred_layer.proj.bias", c.VocabularySize),
        };
    }

    private static WeightMatrix Matrix(GgufFile file, string name, int rows, int columns)
    {
        var t = Require(file, name);
        if (t.Shape.Length != 2 || t.Shape[0] != rows || t.Shape[1] != columns)
            throw new ModelFileException($"tensor '{name}' has shape [{string.Join(", ", t.Shape)}], expected [{rows}, {columns}]");
        return new WeightMatrix(file.Pointer(t), rows, columns, t.Type == GgufTensorType.F16);
    }

    private static WeightVector Vector(GgufFile file, string name, int length)
    {
        var t = Require(file, name);
        if (t.Shape.Length != 1 || t.Shape[0] != length)
            throw new ModelFileException($"tensor '{name}' has shape [{string.Join(", ", t.Shape)}], expected [{length}]");
        if (t.Type != GgufTensorType.F32)
            throw new ModelFileException($"tensor '{name}' has type {t.Type}, expected F32 for a 1-D tensor");
        return new WeightVector((float*)file.Pointer(t), length);
    }

    private static GgufTensorInfo Require(GgufFile file, string name) =>
        file.TryGetTensor(name, out var t) ? t : throw new ModelFileException($"tensor '{name}' is missing");
}
