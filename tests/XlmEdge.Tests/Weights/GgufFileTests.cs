using System.Text;
using XlmEdge.Weights;

namespace XlmEdge.Tests.Weights;

/// <summary>
/// The reader against GGUF bytes assembled here by hand, independently of the weights tool's
/// writer, so a shared misunderstanding of the format cannot hide in both.
/// </summary>
public sealed class GgufFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gguf-reader-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] BuildFile(uint version = 3, ulong? tensorOffsetOverride = null, bool withHash = true, ulong vectorOffset = 64)
    {
        var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        void Str(string s) { var b = Encoding.UTF8.GetBytes(s); w.Write((ulong)b.Length); w.Write(b); }
        w.Write(GgufFormat.Magic);
        w.Write(version);
        w.Write(2UL);                       // tensors
        w.Write(withHash ? 5UL : 4UL);      // metadata entries
        Str(GgufFormat.KeyArchitecture); w.Write((uint)GgufValueType.String); Str("xlm");
        Str(GgufFormat.KeyAlignment); w.Write((uint)GgufValueType.UInt32); w.Write(64u);
        Str(GgufFormat.KeyUseLangEmb); w.Write((uint)GgufValueType.Bool); w.Write((byte)1);
        Str(GgufFormat.KeyLanguages); w.Write((uint)GgufValueType.Array); w.Write((uint)GgufValueType.String); w.Write(2UL); Str("en"); Str("fr");
        if (withHash) { Str(GgufFormat.KeyContentHash); w.Write((uint)GgufValueType.String); Str(GgufContentHash.Placeholder); }
        // A [3, 5] F16 matrix (ggml dims reversed: ne0 = 5) and a [3] F32 vector.
        Str("m"); w.Write(2u); w.Write(5UL); w.Write(3UL); w.Write((uint)GgufTensorType.F16); w.Write(tensorOffsetOverride ?? 0UL);
        Str("v"); w.Write(1u); w.Write(3UL); w.Write((uint)GgufTensorType.F32); w.Write(vectorOffset);
        while (ms.Length % 64 != 0) w.Write((byte)0);
        for (int i = 0; i < 15; i++) w.Write((Half)(i * 0.5f));
        while (ms.Length % 64 != 0) w.Write((byte)0);
        w.Write(1.5f); w.Write(-2f); w.Write(3.25f);
        w.Flush();
        var bytes = ms.ToArray();
        if (withHash)
        {
            int at = IndexOf(bytes, Encoding.ASCII.GetBytes(GgufContentHash.Placeholder)) + GgufContentHash.Prefix.Length;
            string hash;
            using (var s = new MemoryStream(bytes)) hash = GgufContentHash.Format(GgufContentHash.Compute(s, at));
            Encoding.ASCII.GetBytes(hash, 0, hash.Length, bytes, at - GgufContentHash.Prefix.Length);
        }
        return bytes;
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);

    private string Write(byte[] bytes, string name = "model.gguf")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void ReadsMetadataTensorsAndViews()
    {
        using var f = GgufFile.Open(Write(BuildFile()));
        Assert.Equal(3u, f.Version);
        Assert.Equal("xlm", f.GetString(GgufFormat.KeyArchitecture));
        Assert.True(f.GetBool(GgufFormat.KeyUseLangEmb));
        Assert.Equal(["en", "fr"], f.GetStringArray(GgufFormat.KeyLanguages));
        Assert.True(f.TryGetTensor("m", out var m));
        Assert.Equal([3L, 5L], m.Shape);
        Assert.Equal(0, m.DataOffset % 64);
        var half = f.GetHalf("m");
        Assert.Equal(15, half.Length);
        Assert.Equal((Half)7f, half[14]);
        Assert.Equal([1.5f, -2f, 3.25f], f.GetFloat32Tensor("v").ToArray());
        Assert.True(f.VerifyContentHash(out _));
    }

    [Fact]
    public void WrongTypeAndMissingEntriesNameTheProblem()
    {
        using var f = GgufFile.Open(Write(BuildFile()));
        Assert.Contains("'xlm.block_count' is missing", Assert.Throws<ModelFileException>(() => f.GetUInt32(GgufFormat.KeyBlockCount)).Message);
        Assert.Contains("expected UInt32", Assert.Throws<ModelFileException>(() => f.GetUInt32(GgufFormat.KeyArchitecture)).Message);
        Assert.Contains("expected F32", Assert.Throws<ModelFileException>(() => f.GetFloat32Tensor("m")).Message);
        Assert.Contains("'nope' is missing", Assert.Throws<ModelFileException>(() => f.GetHalf("nope")).Message);
    }

    [Fact]
    public void FlippedByteFailsTheContentHash()
    {
        var bytes = BuildFile();
        bytes[^1] ^= 1;
        using var f = GgufFile.Open(Write(bytes));
        Assert.False(f.VerifyContentHash(out var actual));
        Assert.NotEqual(f.ContentHash, actual);
    }

    [Fact]
    public void EveryTruncationIsAModelFileException()
    {
        var bytes = BuildFile();
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            var path = Write(bytes[..cut], "cut.gguf");
            var e = Record.Exception(() => GgufFile.Open(path).Dispose());
            Assert.True(e is ModelFileException, $"cut at {cut}: {e?.GetType().Name ?? "no error"}");
        }
    }

    [Fact]
    public void HostileHeadersAreRejected()
    {
        var badMagic = BuildFile();
        badMagic[0] = (byte)'X';
        Assert.Contains("not a GGUF file", Open(badMagic));
        Assert.Contains("unsupported GGUF version 7", Open(BuildFile(version: 7)));
        Assert.Contains("runs past the end", Open(BuildFile(tensorOffsetOverride: 1UL << 40)));
        Assert.Contains("not a multiple of the alignment", Open(BuildFile(tensorOffsetOverride: 3)));
        Assert.Contains("overlap", Open(BuildFile(vectorOffset: 0)));

        var hugeCount = BuildFile();
        BitConverter.TryWriteBytes(hugeCount.AsSpan(16, 8), ulong.MaxValue / 2);
        Assert.Contains("metadata count", Open(hugeCount));

        var hugeString = BuildFile();
        BitConverter.TryWriteBytes(hugeString.AsSpan(24, 8), 1UL << 62);
        Assert.Contains("string length", Open(hugeString));
    }

    private string Open(byte[] bytes) =>
        Assert.Throws<ModelFileException>(() => GgufFile.Open(Write(bytes, "bad.gguf")).Dispose()).Message;
}
