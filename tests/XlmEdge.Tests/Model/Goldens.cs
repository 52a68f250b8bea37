using System.Text.Json;

namespace XlmEdge.Tests.Model;

/// <summary>One fill-mask golden (schema: tests/fixtures/README of the shared fixtures, "goldens.json").</summary>
internal sealed record GoldenCase(
    string Id, string? Text, string Lang, int LangId, string[] Tokens, int[] InputIds, int[] MaskPositions,
    GoldenMask[] Masks, float[][] HiddenStates);

internal sealed record GoldenMask(int Position, float[] Logits, GoldenCandidate[] Top5);

internal sealed record GoldenCandidate(int Id, string Token, double Prob, float Logit);

internal sealed record GoldenBatch(string Id, GoldenCase[] Items);

internal sealed class Goldens
{
    private static readonly Dictionary<string, Goldens> Cache = [];

    public required GoldenCase[] Cases { get; init; }
    public required GoldenBatch[] Batches { get; init; }

    public static Goldens Load(string fixture) => LoadOnce(Cache, fixture, root => new Goldens
    {
        Cases = [.. root.GetProperty("cases").EnumerateArray().Select(ParseCase)],
        Batches = [.. root.GetProperty("batches").EnumerateArray().Select(b => new GoldenBatch(
            b.GetProperty("id").GetString()!, [.. b.GetProperty("items").EnumerateArray().Select(ParseCase)]))],
    });

    /// <summary>A fixture's goldens.json, parsed once per test run.</summary>
    internal static T LoadOnce<T>(Dictionary<string, T> cache, string fixture, Func<JsonElement, T> parse)
    {
        lock (cache)
        {
            if (cache.TryGetValue(fixture, out var g))
                return g;
            using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures.Root, fixture, "goldens.json")));
            g = parse(doc.RootElement);
            cache[fixture] = g;
            return g;
        }
    }

    /// <summary>Largest |a[i] - b[i]|; the lengths must agree.</summary>
    internal static float MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(b.Length, a.Length);
        float max = 0;
        for (int i = 0; i < a.Length; i++)
            max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }

    private static GoldenCase ParseCase(JsonElement c) => new(
        c.GetProperty("id").GetString()!,
        c.GetProperty("text").ValueKind == JsonValueKind.String ? c.GetProperty("text").GetString() : null,
        c.GetProperty("lang").GetString()!,
        c.GetProperty("lang_id").GetInt32(),
        [.. c.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!)],
        Ints(c.GetProperty("input_ids")),
        Ints(c.GetProperty("mask_positions")),
        [.. c.GetProperty("masks").EnumerateArray().Select(m => new GoldenMask(
            m.GetProperty("position").GetInt32(),
            Floats(m.GetProperty("logits")),
            [.. m.GetProperty("top5").EnumerateArray().Select(t => new GoldenCandidate(
                t.GetProperty("id").GetInt32(), t.GetProperty("token").GetString()!,
                t.GetProperty("prob").GetDouble(), t.GetProperty("logit").GetSingle()))]))],
        [.. c.GetProperty("hidden_states").EnumerateArray().Select(Floats)]);

    private static int[] Ints(JsonElement a) => [.. a.EnumerateArray().Select(e => e.GetInt32())];

    private static float[] Floats(JsonElement a) => [.. a.EnumerateArray().Select(e => e.GetSingle())];
}
