using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using XlmEdge.Weights;

namespace XlmEdge.Tests.Weights;

/// <summary>
/// Damaged and hostile .gguf files, made here from a freshly packed small model: the runtime
/// reader throws one ModelFileException, and inspect/verify exit 1 with one "error:" line.
/// </summary>
public class GgufInputTests
{
    private static byte[] PackMini(TempDir tmp) =>
        File.ReadAllBytes(WeightsTool.Pack(MiniCheckpoint.Create(tmp.Path), tmp.File("mini.gguf")));

    private static void AssertRefused(TempDir tmp, byte[] bytes, string? messagePart = null)
    {
        var path = tmp.File("bad.gguf");
        File.WriteAllBytes(path, bytes);
        var e = Record.Exception(() => GgufFile.Open(path).Dispose());
        Assert.True(e is ModelFileException, $"expected ModelFileException, got {e?.GetType().Name ?? "none"}: {e?.Message}");
        if (messagePart is not null)
            Assert.Contains(messagePart, e!.Message, StringComparison.OrdinalIgnoreCase);
        WeightsTool.Run("inspect", path).SingleError();
        WeightsTool.Run("verify", path).SingleError();
    }

    /// <summary>Offset of the first byte after a GGUF string equal to <paramref name="text"/>.</summary>
    private static int After(byte[] bytes, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        var withLength = new byte[8 + needle.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(withLength, (ulong)needle.Length);
        needle.CopyTo(withLength, 8);
        int at = bytes.AsSpan().IndexOf(withLength);
        Assert.True(at >= 0, text);
        return at + withLength.Length;
    }

    /// <summary>Recomputes the content hash, so a damaged file gets past the hash check.</summary>
    private static void Rehash(byte[] bytes)
    {
        int digits = After(bytes, GgufFormat.KeyContentHash) + 4 + 8 + "xxh3-64:".Length;
        "0000000000000000"u8.CopyTo(bytes.AsSpan(digits));
        Encoding.ASCII.GetBytes(XxHash3.HashToUInt64(bytes).ToString("x16")).CopyTo(bytes, digits);
    }

    [Fact]
    public void TheGoodFileOpensAndVerifies()
    {
        using var tmp = new TempDir();
        PackMini(tmp);
        using (var file = GgufFile.Open(tmp.File("mini.gguf")))
            Assert.True(file.VerifyContentHash(out _));
        var r = WeightsTool.Run("verify", tmp.File("mini.gguf"));
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith("ok: ", r.Stdout);
    }

    [Fact]
    public void EveryTruncationIsRefused()
    {
        using var tmp = new TempDir();
        var bytes = PackMini(tmp);
        var path = tmp.File("cut.gguf");
        long lastTensorEnd;
        using (var file = GgufFile.Open(tmp.File("mini.gguf")))
            lastTensorEnd = file.Tensors.Max(t => t.DataOffset + t.ByteLength);
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            File.WriteAllBytes(path, bytes[..cut]);
            var e = Record.Exception(() =>
            {
                using var file = GgufFile.Open(path);
                // only the zero padding after the last tensor may go without a structural error
                Assert.True(cut >= lastTensorEnd, $"cut at {cut} opened without error");
                Assert.False(file.VerifyContentHash(out _), $"cut at {cut} still verifies");
            });
            Assert.True(e is null or ModelFileException, $"cut at {cut}: {e?.GetType().Name}: {e?.Message}");
            if (cut % 97 == 0)
                WeightsTool.Run("verify", path).SingleError();
        }
    }

    [Fact]
    public void WrongMagicIsRefused()
    {
        using var tmp = new TempDir();
        var bytes = PackMini(tmp);
        bytes[3] = (byte)'G';
        AssertRefused(tmp, bytes);
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(2u)]
    [InlineData(4u)]
    [InlineData(0xFFFFFFFFu)]
    public void UnknownVersionsAreRefused(uint version)
    {
        using var tmp = new TempDir();
        var bytes = PackMini(tmp);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), version);
        AssertRefused(tmp, bytes);
    }

    [Theory]
    [InlineData(8, 1UL << 60)]          // tensor count
    [InlineData(8, 100_000UL)]
    [InlineData(16, 1UL << 60)]         // metadata count
    [InlineData(16, 1_000UL)]
    [InlineData(24, 1UL << 62)]         // length of the first key
    [InlineData(24, ulong.MaxValue)]
    public void AbsurdCountsAndLengthsInTheHeaderAreRefused(int offset, ulong value)
    {
        using var tmp = new TempDir();
        var bytes = PackMini(tmp);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(offset), value);
        AssertRefused(tmp, bytes);
    }

    [Fact]
    public void AFileCutInsideAStringLengthNamesThatLength()
    {
        using var tmp = new TempDir();
        var bytes = PackMini(tmp);
        // No tensors and a vocabulary of two strings, so that the cut file passes the plausibility checks of
        // the counts and the parser reaches the second string's length with 5 of its 8 bytes left.
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), 0);
        int at = After(bytes, GgufFormat.KeyTokens);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + 8), 2);
        int first = at + 16;
        int firstLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(first)));
        AssertRefused(tmp, bytes[..(first + 8 + firstLength + 5)], $"while reading length of {GgufFormat.KeyTokens} (8 bytes needed");
    }

    [Theory]
    [InlineData(1UL << 60)]
    [InlineData(1UL << 32)]
    [InlineData(100_000UL)]
    public void AbsurdArrayCountsAreRefused(ulong count)
    {
        using var tmp = new TempDir();
        var bytes = PackMini(tmp);
        int at = After(bytes, GgufFormat.KeyTokens);
        Assert.Equal((uint)GgufValueType.Array, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at)));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + 8), count);
        AssertRefused(tmp, bytes);
    }

    [Theory]
    [InlineData(1UL << 62)]
    [InlineData(1UL << 31)]
    [InlineData(100_000UL)]
    public void AbsurdStringLengthsInsideArraysAreRefused(ulong length)
    {
        using var tmp = new TempDir();
        var bytes = PackMini(tmp);
        int first = After(bytes, GgufFormat.KeyTokens) + 4 + 4 + 8;
        Assert.Equal(3UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(first)));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(first), length);
        AssertRefused(tmp, bytes);
    }

    [Fact]
    public void UnknownValueTypeIsRefused()
    {
        using var tmp = new TempDir();
        var bytes = PackMini(tmp);
        int at = After(bytes, GgufFormat.KeyArchitecture);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), 77);
        AssertRefused(tmp, bytes);
    }

    /// <summary>The tensor info of pred_layer.proj.bias (the last tensor): n_dims, dims, type, offset.</summary>
    private static (int Dims, int Type, int Offset) BiasInfo(byte[] bytes)
    {
        int at = After(bytes, "pred_layer.proj.bias");
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at)));
        return (at + 4, at + 12, at + 16);
    }

    [Theory]
    [InlineData("offset", 1UL << 40)]
    [InlineData("offset", ulong.MaxValue)]
    [InlineData("offset", 4096UL)]
    [InlineData("offset", 4UL)]              // misaligned
    [InlineData("dim", 1UL << 40)]
    [InlineData("dim", 1UL << 62)]
    [InlineData("dim", 2500UL)]              // data would run past the end of the file
    public void TensorOffsetsAndSizesPastTheEndOrMisalignedAreRefused(string field, ulong value)
    {
        using var tmp = new TempDir();
        var bytes = PackMini(tmp);
        var info = BiasInfo(bytes);
        int at = field == "offset" ? info.Offset : info.Dims;
        if (field == "offset" && value == 4)
            value += BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), value);
        AssertRefused(tmp, bytes);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(8)]
    public void TensorsWithMoreThanFourDimensionsAreRefused(int dims)
    {
        using var tmp = new TempDir();
        PackMini(tmp);
        TestGguf.Rewrite(tmp.File("mini.gguf"), tmp.File("dims.gguf"), (_, t) =>
            t.Add(new TestTensor("extra", Enumerable.Repeat(2L, dims).ToArray(), 0, new byte[4 << dims])));
        AssertRefused(tmp, File.ReadAllBytes(tmp.File("dims.gguf")), $"{dims} dimensions (1 to 4 supported)");
    }

    [Fact]
    public void UnknownTensorTypeIsRefused()
    {
        using var tmp = new TempDir();
        var bytes = PackMini(tmp);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(BiasInfo(bytes).Type), 2);
        AssertRefused(tmp, bytes);
    }

    [Fact]
    public void ChangedBytesFailVerifyWithAHashMismatch()
    {
        using var tmp = new TempDir();
        var bytes = PackMini(tmp);
        bytes[^70] ^= 0x40;
        File.WriteAllBytes(tmp.File("flip.gguf"), bytes);
        using (var file = GgufFile.Open(tmp.File("flip.gguf")))
            Assert.False(file.VerifyContentHash(out _));
        Assert.Contains("content hash mismatch", WeightsTool.Run("verify", tmp.File("flip.gguf")).SingleError());
    }

    [Fact]
    public void VerifyReportsAMissingTensor()
    {
        using var tmp = new TempDir();
        var bytes = PackMini(tmp);
        int at = After(bytes, "transformer.layer_norm_emb.bias") - 4;
        bytes[at] = (byte)'B';
        Rehash(bytes);
        File.WriteAllBytes(tmp.File("x.gguf"), bytes);
        Assert.Contains("'transformer.layer_norm_emb.bias' is missing", WeightsTool.Run("verify", tmp.File("x.gguf")).SingleError());
    }

    [Fact]
    public void VerifyReportsAMisshapedTensor()
    {
        using var tmp = new TempDir();
        var bytes = PackMini(tmp);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(BiasInfo(bytes).Dims), MiniCheckpoint.Vocab - 8);
        Rehash(bytes);
        File.WriteAllBytes(tmp.File("x.gguf"), bytes);
        Assert.Contains("'pred_layer.proj.bias' has shape [16], expected [24]", WeightsTool.Run("verify", tmp.File("x.gguf")).SingleError());
    }

    [Fact]
    public void MissingFileIsBadInput()
    {
        using var tmp = new TempDir();
        WeightsTool.Run("verify", tmp.File("none.gguf")).SingleError();
        WeightsTool.Run("inspect", tmp.File("none.gguf")).SingleError();
        Assert.Throws<FileNotFoundException>(() => GgufFile.Open(tmp.File("none.gguf")));
    }
}
