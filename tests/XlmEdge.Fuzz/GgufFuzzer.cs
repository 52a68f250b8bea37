using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace XlmEdge.Fuzz;

/// <summary>
/// Mutates the demo model's GGUF file (the tiny-enfr fixture, packed as the console's build packs
/// it): bit flips, lying counts, lengths, types, dimensions and offsets in the header, metadata and
/// tensor table, truncations, inserted and deleted bytes, garbage and non-finite weights. Each
/// mutant goes through verify, inspect and XlmModel.Load (then fill-mask when it loads); a
/// re-hashed copy must verify exactly when it loads.
/// </summary>
internal sealed class GgufFuzzer : IFuzzer
{
    private static readonly ulong[] InterestingU64 =
    [
        0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 31, 32, 63, 64, 65, 127, 128, 255, 256, 1023, 1024, 1025, 4096, 65535, 65536,
        0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 1UL << 40, long.MaxValue, 1UL << 63, ulong.MaxValue,
    ];

    private readonly byte[] _base;
    private readonly GgufLayout _layout;
    private readonly string _path;
    private readonly string _rehashed;
    private byte[] _mutant = [];

    public GgufFuzzer(string workFolder)
    {
        string demo = Path.Combine(workFolder, "demo.gguf");
        var pack = Contract.InProcess("pack", Path.Combine(FixturesFolder.Root, "tiny-enfr"), "-o", demo, "--name", "tiny-enfr");
        if (pack.ExitCode != 0)
            throw new InvalidOperationException("packing the demo model failed: " + pack.Stderr);
        _base = File.ReadAllBytes(demo);
        _layout = GgufLayout.Of(_base);
        _path = Path.Combine(workFolder, "mutant.gguf");
        _rehashed = Path.Combine(workFolder, "mutant-rehashed.gguf");
    }

    public string Name => "gguf";

    public void KeepMutant(string folder) => File.WriteAllBytes(Path.Combine(folder, "mutant.gguf"), _mutant);

    public (string Mutations, IReadOnlyList<string> Problems) RunOne(Random random, int iteration, bool asProcess)
    {
        var bytes = new List<byte>(_base);
        var applied = new List<string>();
        int count = random.Next(1, 4);
        for (int i = 0; i < count; i++)
            applied.Add(Mutate(random, bytes));
        _mutant = [.. bytes];
        File.WriteAllBytes(_path, _mutant);

        var problems = new List<string>();
        void Add(string where, string? problem)
        {
            if (problem is not null)
                problems.Add($"{where}: {problem}");
        }

        Add("verify", Contract.Check(Contract.InProcess("verify", _path), VerifyOk));
        Add("inspect", Contract.Check(Contract.InProcess("inspect", _path), _ => null));
        Add("load", Load(_path, out _));
        if (asProcess)
            Add("verify (process)", Contract.Check(Contract.AsProcess(TimeSpan.FromSeconds(60), "verify", _path), VerifyOk));

        // Past the content hash, verify and load must agree.
        var rehashed = Rehash(_mutant);
        if (rehashed is not null)
        {
            File.WriteAllBytes(_rehashed, rehashed);
            var verify = Contract.InProcess("verify", _rehashed);
            Add("verify (re-hashed)", Contract.Check(verify, VerifyOk));
            Add("load (re-hashed)", Load(_rehashed, out bool loads));
            if (loads != (verify.ExitCode == 0))
                problems.Add($"verify and load disagree on the re-hashed mutant: load {(loads ? "succeeds" : "fails")}, verify says {Contract.Clip(verify.Stdout + verify.Stderr)}");
        }
        return (string.Join("; ", applied), problems);
    }

    private static string? VerifyOk(ToolRun run) =>
        run.Stdout.StartsWith("ok: ", StringComparison.Ordinal) && run.StderrLines.Length == 0 ? null : $"exit 0 but not one ok line: {Contract.Clip(run.Stdout + run.Stderr)}";

    /// <summary>Loads the mutant and fills a mask: only typed XlmEdge exceptions may come out.</summary>
    private static string? Load(string path, out bool loads)
    {
        loads = false;
        XlmModel model;
        try
        {
            model = XlmModel.Load(path, new XlmModelOptions { Threads = 1 });
        }
        catch (ModelFileException)
        {
            return null;
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name} instead of ModelFileException: {Contract.Clip(e.Message)}";
        }
        loads = true;
        using (model)
        {
            try
            {
                model.FillMask("the capital of france is <special1> .", model.Config.Languages[0]);
                return null;
            }
            catch (XlmEdgeException)
            {
                return null;
            }
            catch (Exception e)
            {
                return $"fill-mask on a model that loaded: {e.GetType().Name}: {Contract.Clip(e.Message)}";
            }
        }
    }

    /// <summary>The mutant with a correct content hash, when its hash field can still be found.</summary>
    private static byte[]? Rehash(byte[] mutant)
    {
        var key = Encoding.ASCII.GetBytes("xlmedge.content_hash");
        int at = mutant.AsSpan().IndexOf(key);
        if (at < 0)
            return null;
        int digits = at + key.Length + 4 + 8 + "xxh3-64:".Length;
        if (digits + 16 > mutant.Length)
            return null;
        var copy = (byte[])mutant.Clone();
        "0000000000000000"u8.CopyTo(copy.AsSpan(digits));
        Encoding.ASCII.GetBytes(XxHash3.HashToUInt64(copy).ToString("x16")).CopyTo(copy, digits);
        return copy;
    }

    private string Mutate(Random random, List<byte> bytes)
    {
        int structural = (int)Math.Min(_layout.DataStart, bytes.Count);
        switch (random.Next(8))
        {
            case 0:
            case 1:
            {
                // lie in a field: pick a kind first, so the many token lengths do not drown the rest
                var kinds = Enum.GetValues<FieldKind>();
                var kind = kinds[random.Next(kinds.Length)];
                var fields = _layout.Fields.Where(f => f.Kind == kind && f.Offset + f.Size <= bytes.Count).ToList();
                if (fields.Count == 0)
                    return "none";
                var field = fields[random.Next(fields.Count)];
                ulong old = field.Size == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(Span(bytes, field.Offset, 8)) : BinaryPrimitives.ReadUInt32LittleEndian(Span(bytes, field.Offset, 4));
                ulong value = random.Next(4) switch
                {
                    0 => old + (ulong)random.Next(1, 3),
                    1 => old - (ulong)random.Next(1, 3),
                    2 => (ulong)random.NextInt64(),
                    _ => InterestingU64[random.Next(InterestingU64.Length)],
                };
                var patch = new byte[field.Size];
                if (field.Size == 8)
                    BinaryPrimitives.WriteUInt64LittleEndian(patch, value);
                else
                    BinaryPrimitives.WriteUInt32LittleEndian(patch, (uint)value);
                Write(bytes, field.Offset, patch);
                return $"{field.Name} = {value}";
            }
            case 2:
            {
                if (structural == 0)
                    return "none";
                int flips = random.Next(1, 9);
                for (int i = 0; i < flips; i++)
                    bytes[random.Next(structural)] ^= (byte)(1 << random.Next(8));
                return $"{flips} bit flips in the header";
            }
            case 3:
            {
                int cut = random.Next(2) == 0 ? random.Next(structural) : random.Next(bytes.Count);
                bytes.RemoveRange(cut, bytes.Count - cut);
                return $"truncated at {cut}";
            }
            case 4:
            {
                int at = random.Next(structural);
                int n = random.Next(1, 17);
                if (random.Next(2) == 0)
                {
                    bytes.InsertRange(at, Enumerable.Range(0, n).Select(_ => (byte)random.Next(256)));
                    return $"{n} bytes inserted at {at}";
                }
                bytes.RemoveRange(at, Math.Min(n, bytes.Count - at));
                return $"{n} bytes deleted at {at}";
            }
            case 5:
            {
                // a metadata value's type or an array's element type changed to another valid one
                var types = _layout.Fields.Where(f => f.Kind == FieldKind.ValueType && f.Offset + 4 <= bytes.Count).ToList();
                if (types.Count == 0)
                    return "none";   // an earlier mutation of this mutant cut the file before every type field
                var field = types[random.Next(types.Count)];
                uint type = (uint)random.Next(13);
                Write(bytes, field.Offset, BitConverter.GetBytes(type));
                return $"{field.Name} = {type}";
            }
            case 6:
            {
                if (bytes.Count <= _layout.DataStart + 4)
                    return "none";
                int at = random.Next((int)_layout.DataStart, bytes.Count - 4);
                byte[] pattern = random.Next(3) switch
                {
                    0 => [0x00, 0x7e],                 // fp16 NaN
                    1 => [0x00, 0x7c],                 // fp16 infinity
                    _ => [0x00, 0x00, 0xc0, 0x7f],     // fp32 NaN
                };
                Write(bytes, at - (at - (int)_layout.DataStart) % pattern.Length, pattern);
                return $"non-finite weight at {at}";
            }
            default:
            {
                if (bytes.Count <= _layout.DataStart)
                    return "none";
                int at = random.Next((int)_layout.DataStart, bytes.Count);
                int n = Math.Min(random.Next(1, 256), bytes.Count - at);
                for (int i = 0; i < n; i++)
                    bytes[at + i] = (byte)random.Next(256);
                return $"{n} random weight bytes at {at}";
            }
        }
    }

    private static Span<byte> Span(List<byte> bytes, long offset, int size) => bytes.GetRange((int)offset, size).ToArray();

    private static void Write(List<byte> bytes, long offset, byte[] patch)
    {
        for (int i = 0; i < patch.Length && offset + i < bytes.Count; i++)
            bytes[(int)offset + i] = patch[i];
    }
}

/// <summary>tests/fixtures, found by walking up from the fuzzer's binary (it runs from the repository's build output).</summary>
internal static class FixturesFolder
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures");
            if (Directory.Exists(candidate))
                return candidate;
        }
        throw new DirectoryNotFoundException("tests/fixtures not found above " + AppContext.BaseDirectory);
    }
}
