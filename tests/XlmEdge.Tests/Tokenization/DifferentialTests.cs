using System.Text;
using XlmEdge.Tokenization;

namespace XlmEdge.Tests.Tokenization;

/// <summary>
/// The hand-written scanners against <see cref="RegexTranscription"/>, a pattern-for-pattern
/// regex port of sacremoses, on random punctuation-heavy text (the reference Python tokenizer
/// cannot run here; this is the fuzz check that can).
/// </summary>
public class DifferentialTests
{
    private static readonly string[] s_atoms =
    [
        " ", " ", " ", "  ", "\t", "\n", "\r", "\u00A0", "\u2009", "\u3000", ".", ".", "..", "...", ",", ",", "'", "'", "''", "\"", "`", "``",
        "-", "--", "(", ")", "[", "]", "{", "}", "<", ">", "!", "?", ":", ";", "%", "/", "&", "@", "#", "$", "*",
        "a", "b", "s", "t", "n", "e", "A", "S", "N", "T", "D", "M", "i", "I", "o", "é", "É", "ß", "ç", "Ω",
        "0", "1", "5", "٣", "²", "½", "ºC", "nº", "cm", "ll", "re", "ve", "n't", "'s", "'ll",
        "Mr", "Dr", "No", "Art", "pp", "etc", "e.g", "i.e", "St", "M", "DOTMULTI", "word", "l", "hui", "aujourd",
        "«", "»", "„", "“", "”", "–", "—", "´", "‘", "’", "‚", "…", "，", "。", "、", "？", "！", "（", "）", "：", "；",
        "「", "」", "《", "》", "０", "９", "．", "～", "━", "〈", "〉", "【", "】", "％", "€", "£", "©", "→", "∶",
        "\u0301", "\u094D", "\u00AD", "\u200B", "漢", "字", "カナ", "가",
    ];

    private static readonly string[] s_asciiAtoms = [.. s_atoms.Where(a => a.All(c => c < 0x80))];

    // Every fourth text is pure ASCII, which takes the normalizer's fast path.
    private static string RandomText(Random random)
    {
        var atoms = random.Next(4) == 0 ? s_asciiAtoms : s_atoms;
        var sb = new StringBuilder();
        int count = random.Next(1, 20);
        for (int i = 0; i < count; i++)
            sb.Append(atoms[random.Next(atoms.Length)]);
        return sb.ToString();
    }

    [Theory]
    [InlineData("en", 11)]
    [InlineData("fr", 12)]
    public void NormalizerMatchesRegexPort(string language, int seed)
    {
        var reference = new RegexTranscription(language);
        var normalizer = new MosesPunctNormalizer(language);
        var random = new Random(seed);
        for (int n = 0; n < 4000; n++)
        {
            var text = RandomText(random);
            Assert.Equal(RegexTranscription.ReplaceUnicodePunct(text), UnicodePunctuation.Replace(text));
            Assert.Equal(reference.Normalize(text), normalizer.Normalize(text));
        }
    }

    [Theory]
    [InlineData("en", 21)]
    [InlineData("fr", 22)]
    public void MosesTokenizerMatchesRegexPort(string language, int seed)
    {
        var reference = new RegexTranscription(language);
        var moses = new MosesTokenizer(language);
        var random = new Random(seed);
        for (int n = 0; n < 3000; n++)
        {
            var text = RandomText(random);
            Assert.Equal(reference.Tokenize(text), moses.Tokenize(text));
        }
    }
}
