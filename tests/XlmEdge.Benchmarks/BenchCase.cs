using System.Text.Json;

namespace XlmEdge.Benchmarks;

/// <summary>What a case measures: the whole fill-mask result, or the encoder's last hidden states alone.</summary>
internal enum CaseKind
{
    FillMask,
    Encode,
}

/// <summary>
/// One benchmark case: <see cref="Batch"/> sequences of <see cref="Tokens"/> ids each, framed
/// by &lt;s&gt; (0) and &lt;/s&gt; (1), with the mask id 5 at <see cref="MaskPosition"/>.
/// Every engine gets exactly these ids.
/// </summary>
internal sealed record BenchCase(string Name, CaseKind Kind, int Tokens, int Batch, int MaskPosition, int[][] Ids, int Warmup, int Iterations)
{
    public const int BosId = 0;
    public const int EosId = 1;
    public const int MaskId = 5;
    public const int LanguageId = 0;

    /// <summary>First id after the specials (&lt;s&gt; &lt;/s&gt; &lt;pad&gt; &lt;unk&gt; &lt;special0..9&gt;).</summary>
    private const int FirstOrdinaryId = 14;

    /// <summary>
    /// The case list of issue 5: fill-mask at T = 8..512 (batch 1) and batch 8 at T = 32, then the
    /// encoder alone at every T. Iterations shrink with T so a full run stays within minutes;
    /// <paramref name="iterationScale"/> scales them (the smoke mode runs one of each).
    /// </summary>
    public static IReadOnlyList<BenchCase> Standard(int vocabSize, int seed, double iterationScale)
    {
        int[] lengths = [8, 16, 32, 64, 128, 512];
        var rng = new Random(seed);
        var single = lengths.ToDictionary(t => t, t => new[] { RandomSequence(rng, t, vocabSize) });
        var batch8 = Enumerable.Range(0, 8).Select(_ => RandomSequence(rng, 32, vocabSize)).ToArray();

        var cases = new List<BenchCase>();
        foreach (var t in lengths)
            cases.Add(Make($"fill-mask T={t}", CaseKind.FillMask, single[t], t, iterationScale));
        cases.Add(Make("fill-mask T=32 batch 8", CaseKind.FillMask, batch8, 32 * 8, iterationScale));
        foreach (var t in lengths)
            cases.Add(Make($"encoder T={t}", CaseKind.Encode, single[t], t, iterationScale));
        return cases;
    }

    /// <summary>Fill-mask cases of the given (tokens, batch) shapes, one timed call each: for checks, not timings.</summary>
    public static IReadOnlyList<BenchCase> FillMaskChecks(int vocabSize, int seed, params (int Tokens, int Batch)[] shapes)
    {
        var rng = new Random(seed);
        return shapes.Select(s => new BenchCase(
            s.Batch == 1 ? $"fill-mask T={s.Tokens}" : $"fill-mask T={s.Tokens} batch {s.Batch}", CaseKind.FillMask, s.Tokens, s.Batch, s.Tokens / 2,
            Enumerable.Range(0, s.Batch).Select(_ => RandomSequence(rng, s.Tokens, vocabSize)).ToArray(), 0, 1)).ToList();
    }

    private static BenchCase Make(string name, CaseKind kind, int[][] ids, int workTokens, double scale)
    {
        var (warmup, iterations) = workTokens switch
        {
            <= 64 => (3, 21),
            <= 128 => (2, 15),
            <= 256 => (2, 11),
            _ => (1, 7),
        };
        iterations = Math.Max(1, (int)Math.Round(iterations * scale));
        warmup = scale < 1 ? Math.Min(warmup, 1) : warmup;
        var t = ids[0].Length;
        return new BenchCase(name, kind, t, ids.Length, t / 2, ids, warmup, iterations);
    }

    private static int[] RandomSequence(Random rng, int length, int vocabSize)
    {
        var ids = new int[length];
        for (var i = 1; i < length - 1; i++)
            ids[i] = rng.Next(FirstOrdinaryId, vocabSize);
        ids[0] = BosId;
        ids[length - 1] = EosId;
        ids[length / 2] = MaskId;
        return ids;
    }

    /// <summary>The fields that name a case, shared by the cases file and the results file.</summary>
    public void WriteIdentity(Utf8JsonWriter w)
    {
        w.WriteString("name", Name);
        w.WriteString("kind", Kind == CaseKind.FillMask ? "fill-mask" : "encode");
        w.WriteNumber("tokens", Tokens);
        w.WriteNumber("batch", Batch);
    }

    /// <summary>Writes the cases for the PyTorch child process (the only engine outside .NET).</summary>
    public static void WriteJson(IReadOnlyList<BenchCase> cases, string path)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream);
        w.WriteStartArray();
        foreach (var c in cases)
        {
            w.WriteStartObject();
            c.WriteIdentity(w);
            w.WriteNumber("mask_position", c.MaskPosition);
            w.WriteNumber("language_id", LanguageId);
            w.WriteNumber("warmup", c.Warmup);
            w.WriteNumber("iterations", c.Iterations);
            w.WriteStartArray("ids");
            foreach (var seq in c.Ids)
            {
                w.WriteStartArray();
                foreach (var id in seq)
                    w.WriteNumberValue(id);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>Reads the cases back in a child process, so every engine sees the parent's exact ids.</summary>
    public static IReadOnlyList<BenchCase> ReadJson(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var cases = new List<BenchCase>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            var ids = e.GetProperty("ids").EnumerateArray()
                .Select(seq => seq.EnumerateArray().Select(x => x.GetInt32()).ToArray()).ToArray();
            cases.Add(new BenchCase(
                e.GetProperty("name").GetString()!,
                e.GetProperty("kind").GetString() == "fill-mask" ? CaseKind.FillMask : CaseKind.Encode,
                e.GetProperty("tokens").GetInt32(),
                e.GetProperty("batch").GetInt32(),
                e.GetProperty("mask_position").GetInt32(),
                ids,
                e.GetProperty("warmup").GetInt32(),
                e.GetProperty("iterations").GetInt32()));
        }
        return cases;
    }
}
