using Microsoft.ML.OnnxRuntime;

namespace XlmEdge.Benchmarks;

/// <summary>
/// ONNX Runtime on an export of the same checkpoint (export_onnx.py): all graph optimizations,
/// the same intra-op thread count as XlmEdge, one inter-op thread, sequential execution.
/// Inputs and the output buffer are bound before the timed call, so ORT is timed on its graph
/// (plus the top-k read-out for fill-mask), not on our allocations.
/// </summary>
internal sealed class OrtEngine : IBenchEngine
{
    private const int TopCount = 5;
    private static readonly string[] InputNames = ["input_ids", "langs", "attention_mask"];

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly bool _encoderOnly;
    private readonly string[] _outputNames;
    private readonly int _width;
    private readonly float[] _scratch;

    private BenchCase? _case;
    private float[] _output = [];
    private OrtValue[] _inputs = [];
    private OrtValue[] _outputs = [];
    private int[][] _topIds = [];
    private float[][] _topLogits = [];
    private float[][] _topProbabilities = [];

    public OrtEngine(string modelPath, bool encoderOnly, int threads, int vocabSize, int embeddingSize)
    {
        using var options = CreateOptions(threads);
        _session = new InferenceSession(modelPath, options);
        _encoderOnly = encoderOnly;
        _outputNames = [encoderOnly ? "hidden_states" : "logits"];
        _width = encoderOnly ? embeddingSize : vocabSize;
        _scratch = new float[vocabSize];
        Name = encoderOnly ? "ort-encoder" : "ort";
    }

    public string Name { get; }

    /// <summary>The session options of every ORT measurement (also used by the cold-start child).</summary>
    public static SessionOptions CreateOptions(int threads) => new()
    {
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        IntraOpNumThreads = threads,
        InterOpNumThreads = 1,
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
    };

    public bool Supports(CaseKind kind) => kind == (_encoderOnly ? CaseKind.Encode : CaseKind.FillMask);

    public void Prepare(BenchCase benchCase)
    {
        DisposeValues();
        _case = benchCase;
        var count = benchCase.Batch * benchCase.Tokens;
        var ids = new long[count];
        var langs = new long[count];
        var mask = new long[count];
        for (var b = 0; b < benchCase.Batch; b++)
        {
            for (var t = 0; t < benchCase.Tokens; t++)
            {
                ids[b * benchCase.Tokens + t] = benchCase.Ids[b][t];
                langs[b * benchCase.Tokens + t] = BenchCase.LanguageId;
                mask[b * benchCase.Tokens + t] = 1;
            }
        }
        long[] inputShape = [benchCase.Batch, benchCase.Tokens];
        _inputs =
        [
            OrtValue.CreateTensorValueFromMemory(ids, inputShape),
            OrtValue.CreateTensorValueFromMemory(langs, inputShape),
            OrtValue.CreateTensorValueFromMemory(mask, inputShape),
        ];
        _output = new float[count * _width];
        _outputs = [OrtValue.CreateTensorValueFromMemory(_output, [benchCase.Batch, benchCase.Tokens, _width])];
        _topIds = NewRows<int>(benchCase.Batch, TopCount);
        _topLogits = NewRows<float>(benchCase.Batch, TopCount);
        _topProbabilities = NewRows<float>(benchCase.Batch, TopCount);
    }

    public void Run()
    {
        var c = _case ?? throw new InvalidOperationException("Prepare was not called");
        _session.Run(_runOptions, InputNames, _inputs, _outputNames, _outputs);
        if (_encoderOnly)
            return;
        for (var b = 0; b < c.Batch; b++)
            TopK.Select(MaskRow(c, b), _topIds[b], _topLogits[b], _topProbabilities[b], _scratch);
    }

    public CaseOutput Collect()
    {
        var c = _case ?? throw new InvalidOperationException("Prepare was not called");
        if (_encoderOnly)
        {
            var hidden = Enumerable.Range(0, c.Batch)
                .Select(b => _output.AsSpan(b * c.Tokens * _width, c.Tokens * _width).ToArray()).ToArray();
            return new CaseOutput(null, null, null, hidden);
        }
        var rows = Enumerable.Range(0, c.Batch).Select(b => MaskRow(c, b).ToArray()).ToArray();
        return new CaseOutput(Copy(_topIds), Copy(_topLogits), rows, null);
    }

    private ReadOnlySpan<float> MaskRow(BenchCase c, int sequence) =>
        _output.AsSpan((sequence * c.Tokens + c.MaskPosition) * _width, _width);

    private static T[][] NewRows<T>(int rows, int width) => Enumerable.Range(0, rows).Select(_ => new T[width]).ToArray();

    private static T[][] Copy<T>(T[][] rows) => rows.Select(r => r.ToArray()).ToArray();

    private void DisposeValues()
    {
        foreach (var v in _inputs)
            v.Dispose();
        foreach (var v in _outputs)
            v.Dispose();
        _inputs = [];
        _outputs = [];
    }

    public void Dispose()
    {
        DisposeValues();
        _runOptions.Dispose();
        _session.Dispose();
    }
}
