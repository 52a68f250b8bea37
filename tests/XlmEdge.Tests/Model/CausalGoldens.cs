using System.Text.Json;

namespace XlmEdge.Tests.Model;

/// <summary>One causal-LM golden (format "xlm-causal-lm-goldens/1", tests/fixtures/xlm-family/README.md).</summary>
internal sealed record CausalCase(
    string Id, string? Text, string Lang, int LangId, string[] Tokens, int[] InputIds,
    float[][] Logits, int[][] Top5Ids, double[] Top6MinGap, float[][] HiddenStates);

/// <summary>The causal goldens of a fixture: single cases, and the items of the padded batches (computed in the batched run).</summary>
internal sealed class CausalGoldens
{
    private static readonly Dictionary<string, CausalGoldens> Cache = [];

    public required CausalCase[] Cases { get; init; }
    public required CausalCase[] BatchItems { get; init; }

    public static CausalGoldens Load(string fixture) => Goldens.LoadOnce(Cache, fixture, root =>
    {
        Assert.Equal("xlm-causal-lm-goldens/1", root.GetProperty("format").GetString());
        return new CausalGoldens
        {
            Cases = [.. root.GetProperty("cases").EnumerateArray().Select(Parse)],
            BatchItems = [.. root.GetProperty("batches").EnumerateArray().SelectMany(b => b.GetProperty("items").EnumerateArray()).Select(Parse)],
        };
    });

    private static CausalCase Parse(JsonElement c) => new(
        c.GetProperty("id").GetString()!,
        c.GetProperty("text").ValueKind == JsonValueKind.String ? c.GetProperty("text").GetString() : null,
        c.GetProperty("lang").GetString()!,
        c.GetProperty("lang_id").GetInt32(),
        [.. c.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!)],
        Ints(c.GetProperty("input_ids")),
        [.. c.GetProperty("logits").EnumerateArray().Select(Floats)],
        [.. c.GetProperty("next_token_top5").EnumerateArray().Select(p => p.EnumerateArray().Select(t => t.GetProperty("id").GetInt32()).ToArray())],
        [.. c.GetProperty("top6_min_logit_gap").EnumerateArray().Select(e => e.GetDouble())],
        [.. c.GetProperty("hidden_states").EnumerateArray().Select(Floats)]);

    private static int[] Ints(JsonElement a) => [.. a.EnumerateArray().Select(e => e.GetInt32())];

    private static float[] Floats(JsonElement a) => [.. a.EnumerateArray().Select(e => e.GetSingle())];
}
