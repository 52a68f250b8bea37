namespace XlmEdge.Benchmarks;

/// <summary>
/// XlmEdge through its id-level entry points: FillMaskIds (one sequence or a batch) and EncodeIds
/// (last hidden states, no output layer), on the generated forward of the geometry's preset or, with
/// <c>generated: false</c>, on the generic loop. Collect (not timed) also computes the full logit rows
/// at the masks, so that agreement with ONNX Runtime is checked on every logit, not only the top 5.
/// </summary>
internal sealed class XlmEdgeEngine : IBenchEngine
{
    private const int TopCount = 5;

    private readonly XlmModel _model;
    private readonly int _embeddingSize;

    private BenchCase? _case;
    private int[][] _batch = [];
    private int[] _languages = [];
    private float[] _hidden = [];
    private IReadOnlyList<FillMaskResult> _results = [];

    public XlmEdgeEngine(string ggufPath, int threads, int embeddingSize, bool generated = true)
    {
        _model = XlmModel.Load(ggufPath, new XlmModelOptions { Threads = threads, UseGeneratedForward = generated });
        _embeddingSize = embeddingSize;
    }

    public string Name => "xlmedge";

    /// <summary>What runs: the forward (generated for which preset, or generic) and the SIMD path, from the runtime itself.</summary>
    public string Describe() =>
        $"XlmEdge on {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}; " +
        $"{(_model.GeneratedForward is { } preset ? $"generated forward of {preset.Name}" : "generic forward")}; " +
        $"SIMD {Kernels.CpuFeatures.Name(Kernels.CpuFeatures.Selected)}";

    public bool Supports(CaseKind kind) => true;

    public void Prepare(BenchCase benchCase)
    {
        _case = benchCase;
        _batch = benchCase.Ids;
        _languages = Enumerable.Repeat(BenchCase.LanguageId, benchCase.Batch).ToArray();
        _hidden = new float[benchCase.Tokens * _embeddingSize];
        _results = [];
    }

    public void Run()
    {
        var c = _case ?? throw new InvalidOperationException("Prepare was not called");
        if (c.Kind == CaseKind.Encode)
        {
            _model.EncodeIds(c.Ids[0], BenchCase.LanguageId, _hidden);
            return;
        }
        _results = c.Batch == 1
            ? [_model.FillMaskIds(c.Ids[0], BenchCase.LanguageId, TopCount)]
            : _model.FillMaskIds(_batch, _languages, TopCount);
    }

    public CaseOutput Collect()
    {
        var c = _case ?? throw new InvalidOperationException("Prepare was not called");
        if (c.Kind == CaseKind.Encode)
            return new CaseOutput(null, null, null, [_hidden.ToArray()]);
        var candidates = _results.Select(r => r.Masks.Single(m => m.Position == c.MaskPosition).Candidates).ToArray();
        return new CaseOutput(
            candidates.Select(list => list.Select(x => x.Id).ToArray()).ToArray(),
            candidates.Select(list => list.Select(x => x.Logit).ToArray()).ToArray(),
            _model.MaskLogits(c.Ids, _languages),
            null);
    }

    public void Dispose() => _model.Dispose();
}
