using XlmEdge.Kernels;
using XlmEdge.Weights;

namespace XlmEdge.Model;

/// <summary>How a weight matrix is stored, fixed when the file is loaded.</summary>
internal enum WeightType
{
    F32,
    F16,
    /// <summary>int8 values with one fp32 scale per row (files packed with --dtype q8), always row-major.</summary>
    Q8,
}

/// <summary>
/// A weight matrix [Rows, Columns] (HF Linear layout [out, in]) viewed in place in the mapping: row-major
/// (the embeddings, every q8 matrix), or in row panels (<see cref="PanelLayout"/>, the blocks' f16/f32 Linears).
/// </summary>
internal readonly unsafe struct WeightMatrix(void* data, int rows, int columns, WeightType type, float* scales = null, bool isPanels = false)
{
    public int Rows { get; } = rows;
    public int Columns { get; } = columns;
    public WeightType Type { get; } = type;
    public bool IsHalf => Type == WeightType.F16;
    public bool IsPanels { get; } = isPanels;

    public ReadOnlySpan<Half> Half => Type == WeightType.F16 ? new(data, Rows * Columns) : throw WrongType(WeightType.F16);
    public ReadOnlySpan<float> Single => Type == WeightType.F32 ? new(data, Rows * Columns) : throw WrongType(WeightType.F32);
    public ReadOnlySpan<sbyte> Int8 => Type == WeightType.Q8 ? new(data, Rows * Columns) : throw WrongType(WeightType.Q8);
    /// <summary>The per-row scales of a q8 matrix.</summary>
    public ReadOnlySpan<float> Scales => Type == WeightType.Q8 ? new(scales, Rows) : throw WrongType(WeightType.Q8);

    /// <summary>
    /// The values in row-major order [Rows, Columns], for code that reads whole rows (the GPU upload): the
    /// mapping itself, or an unpacked copy of a matrix in panels.
    /// </summary>
    public ReadOnlySpan<System.Half> RowMajorHalf()
    {
        if (!IsPanels)
            return Half;
        var rows = new System.Half[Rows * Columns];
        PanelLayout.Unpack(Half, Rows, Columns, rows);
        return rows;
    }

    /// <inheritdoc cref="RowMajorHalf"/>
    public ReadOnlySpan<float> RowMajorSingle()
    {
        if (!IsPanels)
            return Single;
        var rows = new float[Rows * Columns];
        PanelLayout.Unpack(Single, Rows, Columns, rows);
        return rows;
    }

    /// <summary>The values as <typeparamref name="T"/> (<see cref="System.Half"/> or float), for code that chose the dtype once at load.</summary>
    public ReadOnlySpan<T> Values<T>() where T : unmanaged =>
        (typeof(T) == typeof(System.Half) && Type == WeightType.F16) || (typeof(T) == typeof(float) && Type == WeightType.F32)
            ? new(data, Rows * Columns)
            : throw new InvalidOperationException($"matrix is {Type}, read as {typeof(T).Name}");

    /// <summary>Row <paramref name="row"/> converted to fp32 (embedding lookups; a q8 row times its scale).</summary>
    public void CopyRow(int row, Span<float> destination)
    {
        if (IsPanels)
            throw new InvalidOperationException("rows of a panel matrix are not contiguous");
        switch (Type)
        {
            case WeightType.F16:
                // The framework's vectorized conversion, exact (tests check every bit pattern); the width is its own choice.
                System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(Half.Slice(row * Columns, Columns), destination);
                break;
            case WeightType.Q8:
                destination = destination[..Columns];
                System.Numerics.Tensors.TensorPrimitives.ConvertChecked<sbyte, float>(Int8.Slice(row * Columns, Columns), destination);
                System.Numerics.Tensors.TensorPrimitives.Multiply(destination, Scales[row], destination);
                break;
            default:
                Single.Slice(row * Columns, Columns).CopyTo(destination);
                break;
        }
    }

    /// <summary>Adds row <paramref name="row"/> to <paramref name="destination"/>.</summary>
    public void AddRow(int row, Span<float> destination, Span<float> scratch)
    {
        CopyRow(row, scratch);
        System.Numerics.Tensors.TensorPrimitives.Add(destination, scratch, destination);
    }

    /// <summary>y[T, Rows] = x[T, Columns] W^T + bias, optionally followed by GELU, with the kernels of this matrix's type.</summary>
    public void Linear(WorkerPool pool, ReadOnlySpan<float> x, int tokens, ReadOnlySpan<float> bias, Span<float> y,
        Activation activation = Activation.None)
    {
        if (Type == WeightType.Q8)
            Int8Linear.Forward(pool, x, tokens, Columns, Rows, new Int8Projection(Int8, Scales, bias, y), activation);
        else if (IsPanels && IsHalf)
            Kernels.Linear.ForwardPanels(pool, x, tokens, Columns, Half, Rows, bias, y, activation);
        else if (IsPanels)
            Kernels.Linear.ForwardPanels(pool, x, tokens, Columns, Single, Rows, bias, y, activation);
        else if (IsHalf)
            Kernels.Linear.Forward(pool, x, tokens, Columns, Half, Rows, bias, y, activation);
        else
            Kernels.Linear.Forward(pool, x, tokens, Columns, Single, Rows, bias, y, activation);
    }

    /// <summary>
    /// Three projections of one input (q, k and v): x is packed (or quantized) once and the three run as
    /// one pool call when the matrices share their shape and type; otherwise three single calls.
    /// </summary>
    public static void Linear(WorkerPool pool, ReadOnlySpan<float> x, int tokens,
        WeightMatrix a, ReadOnlySpan<float> biasA, Span<float> yA,
        WeightMatrix b, ReadOnlySpan<float> biasB, Span<float> yB,
        WeightMatrix c, ReadOnlySpan<float> biasC, Span<float> yC)
    {
        bool alike = a.Type == b.Type && a.Type == c.Type && a.IsPanels == b.IsPanels && a.IsPanels == c.IsPanels
            && a.Rows == b.Rows && a.Rows == c.Rows && a.Columns == b.Columns && a.Columns == c.Columns;
        if (!alike)
        {
            a.Linear(pool, x, tokens, biasA, yA);
            b.Linear(pool, x, tokens, biasB, yB);
            c.Linear(pool, x, tokens, biasC, yC);
        }
        else if (a.Type == WeightType.Q8)
            Int8Linear.Forward(pool, x, tokens, a.Columns, a.Rows, new(a.Int8, a.Scales, biasA, yA), new(b.Int8, b.Scales, biasB, yB), new Int8Projection(c.Int8, c.Scales, biasC, yC));
        else if (a.IsPanels && a.IsHalf)
            Kernels.Linear.ForwardPanels(pool, x, tokens, a.Columns, a.Rows, new(a.Half, biasA, yA), new(b.Half, biasB, yB), new Projection<Half>(c.Half, biasC, yC));
        else if (a.IsPanels)
            Kernels.Linear.ForwardPanels(pool, x, tokens, a.Columns, a.Rows, new(a.Single, biasA, yA), new(b.Single, biasB, yB), new Projection<float>(c.Single, biasC, yC));
        else if (a.IsHalf)
            Kernels.Linear.Forward(pool, x, tokens, a.Columns, a.Rows, new(a.Half, biasA, yA), new(b.Half, biasB, yB), new Projection<Half>(c.Half, biasC, yC));
        else
            Kernels.Linear.Forward(pool, x, tokens, a.Columns, a.Rows, new(a.Single, biasA, yA), new(b.Single, biasB, yB), new Projection<float>(c.Single, biasC, yC));
    }

    private InvalidOperationException WrongType(WeightType expected) => new($"matrix is {Type}, not {expected}");
}

/// <summary>A 1-D F32 tensor (bias, layer-norm gain or shift) viewed in place in the mapping.</summary>
internal readonly unsafe struct WeightVector(float* data, int length)
{
    public ReadOnlySpan<float> Span => new(data, length);
}

/// <summary>One post-norm transformer block's weights (<see cref="XlmTensors"/> names the tensors).</summary>
internal sealed class XlmBlock
{
    public required WeightMatrix Query, Key, Value, Output;
    public required WeightVector QueryBias, KeyBias, ValueBias, OutputBias;
    public required WeightVector Norm1Weight, Norm1Bias;
    public required WeightMatrix FeedForward1, FeedForward2;
    public required WeightVector FeedForward1Bias, FeedForward2Bias;
    public required WeightVector Norm2Weight, Norm2Bias;

    /// <summary>The block's six Linear weights with their declarations, in the order the forward pass runs them.</summary>
    public (TensorSpec Spec, WeightMatrix Matrix)[] Linears =>
    [
        (XlmTensors.Query, Query), (XlmTensors.Key, Key), (XlmTensors.Value, Value), (XlmTensors.Output, Output),
        (XlmTensors.FeedForward1, FeedForward1), (XlmTensors.FeedForward2, FeedForward2),
    ];
}

/// <summary>
/// Every tensor of the model, bound by its <see cref="XlmTensors"/> declaration: looked up by name,
/// checked for shape and type once at load. The views point into the mapped file, so the
/// <see cref="GgufFile"/> must outlive this object.
/// </summary>
internal sealed class XlmWeights
{
    public required WeightMatrix WordEmbeddings { get; init; }       // also the output projection (tied)
    public required WeightMatrix PositionEmbeddings { get; init; }
    public required WeightMatrix? LanguageEmbeddings { get; init; }  // null when the model has none
    public required WeightVector EmbeddingNormWeight { get; init; }
    public required WeightVector EmbeddingNormBias { get; init; }
    public required XlmBlock[] Blocks { get; init; }
    public required WeightVector OutputBias { get; init; }

    /// <summary>Binds every tensor of geometry <paramref name="g"/>; a missing, misshaped, mistyped or unexpected tensor is an error.</summary>
    /// <exception cref="ModelFileException">The file's tensors are not exactly the model's.</exception>
    public static XlmWeights Bind(GgufFile file, XlmGeometry g)
    {
        var w = new WeightBinder(file, g, LinearsInPanels(file));
        var blocks = new XlmBlock[g.Layers];
        for (int i = 0; i < blocks.Length; i++)
        {
            blocks[i] = new XlmBlock
            {
                Query = w.Matrix(XlmTensors.Query, i),
                QueryBias = w.Vector(XlmTensors.QueryBias, i),
                Key = w.Matrix(XlmTensors.Key, i),
                KeyBias = w.Vector(XlmTensors.KeyBias, i),
                Value = w.Matrix(XlmTensors.Value, i),
                ValueBias = w.Vector(XlmTensors.ValueBias, i),
                Output = w.Matrix(XlmTensors.Output, i),
                OutputBias = w.Vector(XlmTensors.OutputBias, i),
                Norm1Weight = w.Vector(XlmTensors.Norm1Weight, i),
                Norm1Bias = w.Vector(XlmTensors.Norm1Bias, i),
                FeedForward1 = w.Matrix(XlmTensors.FeedForward1, i),
                FeedForward1Bias = w.Vector(XlmTensors.FeedForward1Bias, i),
                FeedForward2 = w.Matrix(XlmTensors.FeedForward2, i),
                FeedForward2Bias = w.Vector(XlmTensors.FeedForward2Bias, i),
                Norm2Weight = w.Vector(XlmTensors.Norm2Weight, i),
                Norm2Bias = w.Vector(XlmTensors.Norm2Bias, i),
            };
        }
        var weights = new XlmWeights
        {
            WordEmbeddings = w.Matrix(XlmTensors.WordEmbeddings),
            PositionEmbeddings = w.Matrix(XlmTensors.PositionEmbeddings),
            LanguageEmbeddings = w.OptionalMatrix(XlmTensors.LanguageEmbeddings),
            EmbeddingNormWeight = w.Vector(XlmTensors.EmbeddingNormWeight),
            EmbeddingNormBias = w.Vector(XlmTensors.EmbeddingNormBias),
            Blocks = blocks,
            OutputBias = w.Vector(XlmTensors.PredictionBias),
        };
        w.CheckEveryTensorBound();
        return weights;
    }

    /// <summary>
    /// Whether every block's Linears are in panels (<see cref="PanelLayout"/>) of one dtype, and which
    /// (<paramref name="half"/>): what the generated forwards need to run the panel kernels directly.
    /// </summary>
    public bool BlocksInPanels(out bool half)
    {
        half = Blocks.Length > 0 && Blocks[0].Query.IsHalf;
        foreach (var b in Blocks)
            foreach (var (_, m) in b.Linears)
                if (!m.IsPanels || m.IsHalf != half)
                    return false;
        return Blocks.Length > 0;
    }

    /// <summary>
    /// Refuses fp16 panel matrices that hold an infinity or a NaN, which the weights tool never writes (a file
    /// changed after packing): the panel kernels widen without the fix-up of fp16 exponent 31
    /// (<see cref="ISimd{TVec}.LoadFiniteHalfPairs"/>), so such a value would turn into a finite one instead of
    /// reaching the logits as NaN. The scan is the first touch of the matrices' pages: about 100 ms on one core
    /// for enfr-1024's 151 MB on the AMD EPYC VM the benchmark ran on, which the first forward pass would
    /// otherwise pay on all its threads, so the scan runs on <paramref name="pool"/> in chunks of 1 MB. AOT
    /// console, fill-mask at enfr-1024 from a fresh process, 12 runs alternating: median 229 ms against 219 ms
    /// without the scan (300 ms when it ran on one thread).
    /// </summary>
    /// <exception cref="ModelFileException">A panel matrix holds an infinity or a NaN; the message names the tensor, row and column.</exception>
    public void RequireFinitePanels(WorkerPool pool)
    {
        var names = new List<string>();
        var matrices = new List<WeightMatrix>();
        for (int i = 0; i < Blocks.Length; i++)
        {
            foreach (var (spec, m) in Blocks[i].Linears)
            {
                if (m.IsPanels && m.IsHalf)
                {
                    names.Add(spec.GgufNameOf(i));
                    matrices.Add(m);
                }
            }
        }
        if (matrices.Count == 0)
            return;
        var job = new FiniteScan(matrices.ToArray());
        pool.For(job.Items, ref job);
        for (int item = 0; item < job.Items; item++)
        {
            if (job.Bad[item] < 0)
                continue;
            int index = Array.FindLastIndex(job.FirstItem, first => first <= item);
            var m = matrices[index];
            var (row, column) = PanelLayout.RowAndColumnOf(job.Bad[item], m.Rows, m.Columns, pairs: true);
            string what = System.Half.IsNaN(m.Half[job.Bad[item]]) ? "NaN" : "an infinity";
            throw new ModelFileException($"tensor '{names[index]}' has {what} at row {row}, column {column}; its fp16 values must be finite (re-pack the checkpoint with xlmedge-weights pack)");
        }
    }

    /// <summary>The chunks of <see cref="RequireFinitePanels"/>: item i scans one chunk and stores the index of its first non-finite value in the matrix, or -1.</summary>
    private readonly struct FiniteScan : IParallelJob
    {
        private const int Chunk = 1 << 19; // halves: 1 MB

        private readonly WeightMatrix[] _matrices;

        public FiniteScan(WeightMatrix[] matrices)
        {
            _matrices = matrices;
            FirstItem = new int[matrices.Length];
            for (int i = 0, items = 0; i < matrices.Length; i++)
            {
                FirstItem[i] = items;
                items += (matrices[i].Half.Length + Chunk - 1) / Chunk;
                Items = items;
            }
            Bad = new int[Items];
        }

        public int Items { get; }

        /// <summary>The first item of each matrix.</summary>
        public int[] FirstItem { get; }

        public int[] Bad { get; }

        public void Execute(int index, int worker)
        {
            int matrix = Array.FindLastIndex(FirstItem, first => first <= index);
            var values = _matrices[matrix].Half;
            int start = (index - FirstItem[matrix]) * Chunk;
            int bad = HalfBits.IndexOfNonFinite(values.Slice(start, Math.Min(Chunk, values.Length - start)));
            Bad[index] = bad < 0 ? -1 : start + bad;
        }
    }

    /// <summary>
    /// Whether the blocks' Linears are in the panel layout the kernels stream (<see cref="GgufFormat.KeyLinearLayout"/>);
    /// files packed before it have no key and keep their row-major Linears, which the row-major kernels read.
    /// </summary>
    /// <exception cref="ModelFileException">The key names a layout this runtime does not know.</exception>
    internal static bool LinearsInPanels(GgufFile file)
    {
        if (!file.TryGetMetadata(GgufFormat.KeyLinearLayout, out _))
            return false;
        string layout = file.GetString(GgufFormat.KeyLinearLayout);
        if (layout != GgufFormat.LinearLayoutPanels)
            throw new ModelFileException($"'{GgufFormat.KeyLinearLayout}' is '{ModelMetadata.Printable(layout)}'; this runtime reads '{GgufFormat.LinearLayoutPanels}' or no key (row-major); re-pack the file with this version's xlmedge-weights pack");
        return true;
    }
}

/// <summary>
/// Hands out views of a file's tensors by their <see cref="TensorSpec"/> (as candle's VarBuilder
/// does): the name, shape and accepted types come from the declaration, never from the caller.
/// </summary>
internal sealed unsafe class WeightBinder(GgufFile file, XlmGeometry geometry, bool linearsInPanels)
{
    private int _bound;

    public WeightMatrix Matrix(TensorSpec spec, int block = -1)
    {
        var t = Require(spec, block, matrix: true);
        int rows = (int)t.Shape[0], columns = (int)t.Shape[1];
        if (t.Type != GgufTensorType.I8)
            return new WeightMatrix(file.Pointer(t), rows, columns, t.Type == GgufTensorType.F16 ? WeightType.F16 : WeightType.F32,
                isPanels: linearsInPanels && spec.Role == TensorRole.Linear);
        if (columns > Int8Linear.MaxK)
            throw new ModelFileException($"tensor '{t.Name}' has {columns} columns; int8 matrices may have at most {Int8Linear.MaxK}");
        // The scales: an F32 tensor [rows], finite (checked here, a few hundred KB for a whole model, rather
        // than showing up as NaN logits later).
        string name = spec.ScaleNameOf(block);
        if (!file.TryGetTensor(name, out var s))
            throw new ModelFileException($"tensor '{name}' is missing (the scales of the I8 tensor '{t.Name}')");
        if (s.Type != GgufTensorType.F32 || s.Shape.Length != 1 || s.Shape[0] != rows)
            throw new ModelFileException($"tensor '{name}' is {s.Type} [{string.Join(", ", s.Shape)}], expected F32 [{rows}]");
        var scales = new ReadOnlySpan<float>(file.Pointer(s), rows);
        int bad = System.Numerics.Tensors.TensorPrimitives.IndexOfMaxMagnitude(scales); // a NaN's index if there is one
        if (!float.IsFinite(scales[bad]))
            throw new ModelFileException($"tensor '{name}' has a non-finite scale at row {bad}");
        _bound++;
        return new WeightMatrix(file.Pointer(t), rows, columns, WeightType.Q8, (float*)file.Pointer(s));
    }

    /// <summary>The matrix, or null when the geometry has no such tensor.</summary>
    public WeightMatrix? OptionalMatrix(TensorSpec spec) => spec.IsPresentIn(geometry) ? Matrix(spec) : null;

    public WeightVector Vector(TensorSpec spec, int block = -1)
    {
        var t = Require(spec, block, matrix: false);
        return new WeightVector((float*)file.Pointer(t), (int)t.Shape[0]);
    }

    /// <summary>Refuses a file with tensors the model does not have (the runtime would silently ignore them).</summary>
    public void CheckEveryTensorBound()
    {
        if (_bound == file.Tensors.Count)
            return;
        var expected = new HashSet<string>(XlmTensors.In(geometry).Select(t => t.GgufName), StringComparer.Ordinal);
        foreach (var t in XlmTensors.In(geometry))
        {
            if (file.TryGetTensor(t.GgufName, out var info) && info.Type == GgufTensorType.I8)
                expected.Add(t.Spec.ScaleNameOf(t.Block));
        }
        var extra = file.Tensors.First(t => !expected.Contains(t.Name));
        throw new ModelFileException($"tensor '{extra.Name}' is not a tensor of this model ({file.Tensors.Count} tensors, {expected.Count} expected for its geometry)");
    }

    private GgufTensorInfo Require(TensorSpec spec, int block, bool matrix)
    {
        if (spec.IsMatrix != matrix || !spec.IsPresentIn(geometry))
            throw new InvalidOperationException($"{spec.GgufName} bound as the wrong kind of tensor");
        string name = spec.GgufNameOf(block);
        if (!file.TryGetTensor(name, out var t))
            throw new ModelFileException($"tensor '{name}' is missing");
        long[] shape = spec.ShapeIn(geometry);
        if (!t.Shape.AsSpan().SequenceEqual(shape))
            throw new ModelFileException($"tensor '{name}' has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", shape)}]");
        if (!spec.Accepts(t.Type))
            throw new ModelFileException($"tensor '{name}' has type {t.Type}, expected {spec.AcceptedTypes}");
        _bound++;
        return t;
    }
}
