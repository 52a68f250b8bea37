namespace XlmEdge.Tests.Weights;

/// <summary>
/// The fuzzers (tests/XlmEdge.Fuzz) for a few dozen fixed-seed mutants each, so that they keep
/// building and running here; CI runs them for a minute with a fresh seed.
/// </summary>
public class FuzzerTests
{
    [Theory]
    [InlineData("gguf")]
    [InlineData("checkpoint")]
    public void FixedSeedMutantsKeepTheContract(string fuzzer)
    {
        var log = new StringWriter();
        var violations = XlmEdge.Fuzz.Program.Run(fuzzer, TimeSpan.FromMinutes(2), iterations: 15, seed: 20240611, keep: null, log);
        Assert.True(violations.Count == 0, log.ToString());
        Assert.Contains($"{fuzzer}: 15 mutants", log.ToString());
    }
}
