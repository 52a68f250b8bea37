using System.Text;
using XlmEdge.Tokenization;

namespace XlmEdge.Tests.Tokenization;

/// <summary>
/// The heap-based BPE against a line-by-line transcription of HF <c>XLMTokenizer.bpe</c>
/// (rescan the word, merge the lowest-ranked pair everywhere, repeat).
/// </summary>
public class BytePairEncoderTests
{
    private static string[] HfBpe(string token, IReadOnlyList<string> merges)
    {
        var ranks = new Dictionary<(string, string), int>();
        for (int i = 0; i < merges.Count; i++)
        {
            var parts = merges[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2)
                ranks[(parts[0], parts[1])] = i;
        }
        var word = token.EnumerateRunes().Select(r => r.ToString()).ToList();
        word[^1] += "</w>";
        if (word.Count == 1)
            return [.. word];
        while (true)
        {
            (string, string)? best = null;
            int bestRank = int.MaxValue;
            for (int i = 0; i + 1 < word.Count; i++)
            {
                if (ranks.TryGetValue((word[i], word[i + 1]), out int rank) && rank < bestRank)
                {
                    bestRank = rank;
                    best = (word[i], word[i + 1]);
                }
            }
            if (best is not { } bigram)
                break;
            var newWord = new List<string>();
            int k = 0;
            while (k < word.Count)
            {
                int j = word.IndexOf(bigram.Item1, k);
                if (j < 0)
                {
                    newWord.AddRange(word.Skip(k));
                    break;
                }
                newWord.AddRange(word.Skip(k).Take(j - k));
                k = j;
                if (word[k] == bigram.Item1 && k < word.Count - 1 && word[k + 1] == bigram.Item2)
                {
                    newWord.Add(bigram.Item1 + bigram.Item2);
                    k += 2;
                }
                else
                {
                    newWord.Add(word[k]);
                    k += 1;
                }
            }
            word = newWord;
            if (word.Count == 1)
                break;
        }
        return [.. word];
    }

    [Fact]
    public void MatchesHfOnRandomMergeTablesInAnyRankOrder()
    {
        var random = new Random(1234);
        string[] alphabet = ["a", "b", "c", "d", "é", "\U0001D41A"];
        for (int table = 0; table < 200; table++)
        {
            // Symbols grow by merging existing ones, but ranks are shuffled, so created pairs may
            // outrank their parents (learned tables never do that; HF's order must still hold).
            var pool = new List<string>(alphabet);
            pool.AddRange(alphabet.Select(a => a + "</w>"));
            var merges = new List<string>();
            int count = random.Next(1, 40);
            for (int m = 0; m < count; m++)
            {
                var first = pool[random.Next(pool.Count)];
                while (first.EndsWith("</w>", StringComparison.Ordinal))
                    first = pool[random.Next(pool.Count)];
                var second = pool[random.Next(pool.Count)];
                merges.Add(first + " " + second);
                pool.Add(first + second);
            }
            merges = [.. merges.OrderBy(_ => random.Next())];
            if (random.Next(4) == 0)
                merges.Add(merges[random.Next(merges.Count)]); // duplicate: the later rank wins
            var bpe = new BytePairEncoder(merges);
            for (int w = 0; w < 30; w++)
            {
                var word = new StringBuilder();
                int length = random.Next(1, 40);
                for (int k = 0; k < length; k++)
                    word.Append(alphabet[random.Next(random.Next(2) == 0 ? 2 : alphabet.Length)]);
                var text = word.ToString();
                Assert.Equal(HfBpe(text, merges), bpe.Encode(text));
            }
        }
    }

    [Fact]
    public void MatchesHfWithTheFixtureMerges()
    {
        var merges = File.ReadAllText(Path.Combine(Fixtures.TinyEnfr, "merges.txt")).Split('\n')[..^1];
        var bpe = new BytePairEncoder(merges);
        var random = new Random(99);
        const string letters = "abcdefghijklmnopqrstuvwxyzéèàç'-.";
        for (int w = 0; w < 2000; w++)
        {
            var word = new string([.. Enumerable.Range(0, random.Next(1, 25)).Select(_ => letters[random.Next(letters.Length)])]);
            Assert.Equal(HfBpe(word, merges), bpe.Encode(word));
        }
    }

    [Fact]
    public void LinesWithFewerThanTwoFieldsAreIgnoredAndExtraFieldsDropped()
    {
        var bpe = new BytePairEncoder(["a", "", "a b 17", "ab c</w>"]);
        Assert.Equal(["abc</w>"], bpe.Encode("abc"));
        Assert.Equal(2, bpe.MergeCount);
    }

    [Fact]
    public void SingleSymbolWordGetsEndOfWord()
    {
        var bpe = new BytePairEncoder([]);
        Assert.Equal(["x</w>"], bpe.Encode("x"));
        Assert.Equal(["\U0001F600</w>"], bpe.Encode("\U0001F600"));
    }
}
