namespace XlmEdge.Tests.Model;

/// <summary>
/// After the first call, a call allocates nothing but its results. Measured on the calling
/// thread with one kernel thread, so all the work happens where it is counted.
/// </summary>
public sealed class AllocationTests
{
    [Fact]
    public void EncodeIdsAllocatesNothingAfterTheFirstCall()
    {
        using var model = XlmModel.Load(TestModels.TinyEnfrPath, new XlmModelOptions { Threads = 1 });
        int[] ids = [0, 17, 992, 32, 5, 14, 1];
        var hidden = new float[ids.Length * model.Config.Geometry.EmbeddingDimension];
        model.EncodeIds(ids, 1, hidden);
        var calls = AllocationWindows.Measure(() => model.EncodeIds(ids, 1, hidden), callsPerWindow: 1);
        Assert.True(calls[^1] == 0, $"bytes allocated by each call: {string.Join(", ", calls)}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void FillMaskAllocatesOnlyItsResults(int threads)
    {
        using var model = XlmModel.Load(TestModels.TinyEnfrPath, new XlmModelOptions { Threads = threads });
        var ids = Enumerable.Range(0, 300).Select(i => 14 + i % 1000).ToArray();
        ids[0] = 0;
        ids[150] = 5;
        ids[^1] = 1;
        model.FillMaskIds(ids, 0, topK: 1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var result = model.FillMaskIds(ids, 0, topK: 1);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The results: the copied input ids, 298 token references, one candidate with its
        // sequence string (built through a StringBuilder), and small objects. A per-call
        // activation or logit buffer (300 x 64 or 1786 floats) would not fit.
        var candidate = result.Masks[0].Candidates[0];
        long resultBytes = ids.Length * 4 + result.Tokens.Count * 8 + 6 * 2 * candidate.Sequence.Length + 2048;
        Assert.True(allocated <= resultBytes, $"allocated {allocated} bytes, results need about {resultBytes}");
    }
}
