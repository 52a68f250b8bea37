using System.Diagnostics;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using XlmEdge.Tokenization;

namespace XlmEdge.Tests.Tokenization;

/// <summary>Public API behaviour: errors, limits, decoding, file loading, thread safety, pathological inputs.</summary>
public class XlmTokenizerTests
{
    private static XlmTokenizer Tokenizer => TokenizerFixture.Tokenizer;

    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public void SpecialIdsAndVocabularyComeFromTheTokenStrings()
    {
        var vocab = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.TinyEnfr, "vocab.json"))).RootElement;
        Assert.Equal(vocab.EnumerateObject().Count(), Tokenizer.VocabularySize);
        Assert.Equal(vocab.GetProperty("<s>").GetInt32(), Tokenizer.BosId);
        Assert.Equal(vocab.GetProperty("</s>").GetInt32(), Tokenizer.EosId);
        Assert.Equal(vocab.GetProperty("<pad>").GetInt32(), Tokenizer.PadId);
        Assert.Equal(vocab.GetProperty("<unk>").GetInt32(), Tokenizer.UnkId);
        Assert.Equal(vocab.GetProperty("<special1>").GetInt32(), Tokenizer.MaskId);
        Assert.Equal("<special1>", Tokenizer.TokenOf(Tokenizer.MaskId));
        Assert.Equal(["en", "fr"], Tokenizer.Languages);
        Assert.Equal(1, Tokenizer.LanguageIdOf("fr"));
    }

    [Fact]
    public void IsSpecialHoldsForTheSpecialTokensOnly()
    {
        var vocab = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.TinyEnfr, "vocab.json"))).RootElement;
        string[] specials = ["<s>", "</s>", "<pad>", "<unk>", .. Enumerable.Range(0, 10).Select(i => $"<special{i}>")];
        foreach (var property in vocab.EnumerateObject())
            Assert.Equal(specials.Contains(property.Name), Tokenizer.IsSpecial(property.Value.GetInt32()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t\n\u00A0\u200B")]
    public void EmptyOrBlankTextIsJustTheFraming(string text)
    {
        var result = Tokenizer.Encode(text, "en");
        Assert.Empty(result.Tokens);
        Assert.Equal([Tokenizer.BosId, Tokenizer.EosId], result.Ids);
    }

    [Fact]
    public void UnknownLanguageNamesTheModelsLanguages()
    {
        var e = Assert.Throws<InvalidInputException>(() => Tokenizer.Encode("Hallo", "de"));
        Assert.Equal("unsupported language 'de'; this model has: en, fr", e.Message);
        Assert.Throws<InvalidInputException>(() => Tokenizer.Encode("Hello", "EN"));
    }


    [Fact]
    public void NullArgumentsThrowArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => Tokenizer.Encode(null!, "en"));
        Assert.Throws<ArgumentNullException>(() => Tokenizer.Encode("text", null!));
        Assert.Throws<ArgumentNullException>(() => Tokenizer.EncodeIds(null!, 0, []));
        Assert.Throws<ArgumentNullException>(() => Tokenizer.EncodeIds("text", 0, null!));
        Assert.Throws<ArgumentNullException>(() => Tokenizer.LanguageIdOf(null!));
        Assert.Throws<ArgumentNullException>(() => new XlmTokenizer(null!, [], ["en"], true));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.EncodeIds("text", 2, []));
    }

    [Fact]
    public void TextOverTheLimitIsRejectedBeforeWork()
    {
        var text = new string('a', XlmTokenizer.MaxTextLength + 1);
        var e = Assert.Throws<InvalidInputException>(() => Tokenizer.Encode(text, "en"));
        Assert.Contains(XlmTokenizer.MaxTextLength.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);

        var ids = new List<int> { 42 };
        Assert.Throws<InvalidInputException>(() => Tokenizer.EncodeIds(text, 0, ids));
        Assert.Equal([42], ids);
    }

    [Fact]
    public void MissingSpecialTokenIsAModelFileError()
    {
        var e = Assert.Throws<ModelFileException>(() => new XlmTokenizer(["<s>", "</s>", "<pad>", "<unk>"], [], ["en"], true));
        Assert.Contains("<special1>", e.Message);
        Assert.Throws<ModelFileException>(() => new XlmTokenizer(["<s>", "</s>", "<pad>", "<unk>", "<special1>", "<s>"], [], ["en"], true));
        Assert.Throws<ModelFileException>(() => new XlmTokenizer(["<s>", "</s>", "<pad>", "<unk>", "<special1>"], [], ["en", "en"], true));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(50)]
    [InlineData(300)]
    [InlineData(700)]
    public void DecodeIsHfConvertTokensToString(int line)
    {
        var byId = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.TinyEnfr, "vocab.json"))).RootElement
            .EnumerateObject().ToDictionary(p => p.Value.GetInt32(), p => p.Name);
        var ids = TokenizerFixture.Ints(TokenizerFixture.Golden(TokenizerFixture.EnFr, line).GetProperty("ids"));
        var tokens = ids.Where(id => id is not (0 or 1 or 2)).Select(id => byId[id]);
        var expected = string.Concat(tokens).Replace("</w>", " ", StringComparison.Ordinal).Trim();

        Assert.Equal(expected, Tokenizer.Decode(ids));
    }

    [Fact]
    public void DecodeSkipsFramingAndPaddingButKeepsOtherSpecials()
    {
        var text = Tokenizer.Encode("the <special1> sat", "en");
        int[] padded = [.. text.Ids, Tokenizer.PadId, Tokenizer.PadId];
        Assert.Equal(Tokenizer.Decode([.. text.Ids]), Tokenizer.Decode(padded));
        Assert.Contains("<special1>", Tokenizer.Decode(padded), StringComparison.Ordinal);
        Assert.DoesNotContain("<s>", Tokenizer.Decode(padded), StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Decode([Tokenizer.VocabularySize]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Decode([-1]));
    }

    [Fact]
    public void RawUtf8AndEscapedVocabularyLoadAlike()
    {
        using var dir = new TempDir();
        var entries = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.TinyEnfr, "vocab.json"))).RootElement
            .EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        var raw = JsonSerializer.Serialize(entries, new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        Assert.Contains("œ", raw, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(dir.Path, "vocab.json"), raw, new UTF8Encoding(false));

        // CRLF line ends and a third (count) column, as some real merges.txt files have.
        var merges = File.ReadAllText(Path.Combine(Fixtures.TinyEnfr, "merges.txt")).Split('\n')[..^1];
        File.WriteAllText(Path.Combine(dir.Path, "merges.txt"), string.Concat(merges.Select(m => m + " 17\r\n")));

        var reloaded = XlmTokenizer.FromHfFiles(Path.Combine(dir.Path, "vocab.json"), Path.Combine(dir.Path, "merges.txt"), ["en", "fr"], true);
        foreach (int line in new[] { 1, 60, 200, 420, 650, 889 })
        {
            var golden = TokenizerFixture.Golden(TokenizerFixture.EnFr, line);
            var result = reloaded.Encode(golden.GetProperty("text").GetString()!, golden.GetProperty("lang").GetString()!);
            Assert.Equal(TokenizerFixture.Ints(golden.GetProperty("ids")), result.Ids);
        }
    }

    [Fact]
    public void MalformedVocabularyIsAModelFileError()
    {
        using var dir = new TempDir();
        var merges = Path.Combine(dir.Path, "merges.txt");
        File.WriteAllText(merges, "a b\n");
        foreach (var json in new[] { "[1, 2]", "{\"<s>\": \"zero\"}", "{\"<s>\": 0, \"</s>\": 5}", "{\"<s>\": 0, \"</s>\": 0}", "{\"<s>\": 0" })
        {
            var vocab = Path.Combine(dir.Path, "vocab.json");
            File.WriteAllText(vocab, json);
            Assert.Throws<ModelFileException>(() => XlmTokenizer.FromHfFiles(vocab, merges, ["en"], true));
        }
    }

    [Fact]
    public void ConcurrentEncodingAgreesWithTheGoldens()
    {
        var tokenizer = XlmTokenizer.FromHfFiles(
            Path.Combine(Fixtures.TinyEnfr, "vocab.json"), Path.Combine(Fixtures.TinyEnfr, "merges.txt"), ["en", "fr"], true);
        var lines = Enumerable.Range(1, TokenizerFixture.GoldenCount(TokenizerFixture.EnFr)).ToArray();
        var failures = new System.Collections.Concurrent.ConcurrentBag<int>();
        Parallel.For(0, lines.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var golden = TokenizerFixture.Golden(TokenizerFixture.EnFr, lines[i % lines.Length]);
            var result = tokenizer.Encode(golden.GetProperty("text").GetString()!, golden.GetProperty("lang").GetString()!);
            if (!result.Ids.SequenceEqual(TokenizerFixture.Ints(golden.GetProperty("ids"))))
                failures.Add(lines[i % lines.Length]);
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void HundredThousandCharacterWordFinishesInSeconds()
    {
        var random = new Random(5);
        var word = new string([.. Enumerable.Range(0, 100_000).Select(_ => (char)('a' + random.Next(26)))]);
        var watch = Stopwatch.StartNew();
        var result = Tokenizer.Encode(word, "en");
        Assert.True(watch.Elapsed < Generous, $"took {watch.Elapsed}");
        Assert.Equal(word, string.Concat(result.Tokens).Replace("</w>", "", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData('a')]
    [InlineData('.')]
    [InlineData('!')]
    [InlineData('é')]
    public void LongRunOfOneCharacterFinishesInSeconds(char c)
    {
        var text = new string(c, 300_000);
        var watch = Stopwatch.StartNew();
        var result = Tokenizer.Encode(text, "fr");
        Assert.True(watch.Elapsed < Generous, $"took {watch.Elapsed}");
        Assert.NotEmpty(result.Tokens);
    }

    [Fact]
    public void MegabyteOfPunctuationFinishesInSeconds()
    {
        const string pattern = "!?.,;:\"'()[]{}<>«»…—-/%&*#@";
        var sb = new StringBuilder(XlmTokenizer.MaxTextLength);
        while (sb.Length < XlmTokenizer.MaxTextLength)
            sb.Append(pattern[sb.Length % pattern.Length]);
        var watch = Stopwatch.StartNew();
        var result = Tokenizer.Encode(sb.ToString(), "en");
        Assert.True(watch.Elapsed < Generous, $"took {watch.Elapsed}");
        Assert.True(result.Tokens.Count > 500_000);
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("xlmedge-tok-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
