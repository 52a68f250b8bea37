namespace XlmEdge.Benchmarks;

/// <summary>
/// An engine under test inside a benchmark child process. <see cref="Prepare"/> sets up buffers
/// for a case (not timed), <see cref="Run"/> is the timed call, <see cref="Collect"/> reads what
/// the last run produced so the parent can check that every engine computed the same thing.
/// </summary>
internal interface IBenchEngine : IDisposable
{
    string Name { get; }

    bool Supports(CaseKind kind);

    void Prepare(BenchCase benchCase);

    void Run();

    CaseOutput Collect();
}

/// <summary>
/// What one run produced. For fill-mask: per sequence the top candidates at the mask (ids and
/// logits) and, where the engine exposes them, the full logit row at the mask. For the encoder:
/// per sequence the last hidden states, [T, d] row-major.
/// </summary>
internal sealed record CaseOutput(int[][]? TopIds, float[][]? TopLogits, float[][]? MaskRows, float[][]? Hidden);
