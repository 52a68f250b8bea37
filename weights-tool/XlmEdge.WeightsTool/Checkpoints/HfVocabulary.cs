using System.Text;
using System.Text.Json;

namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>
/// The BPE vocabulary of an HF XLM checkpoint: vocab.json (token -> id; \u escapes and raw
/// UTF-8 alike, as any JSON) and merges.txt, read as HF does: split("\n")[:-1], the first two
/// whitespace-separated fields of each line. Lines with fewer than two fields can never match
/// a pair and are skipped; a repeated pair keeps its last rank, as HF's dict does.
/// </summary>
internal sealed record HfVocabulary(string[] Tokens, string[] Merges)
{
    private const long MaxFileBytes = 256L << 20;

    public static HfVocabulary Load(string directory, int vocabSize, Action<string> note) =>
        new(LoadTokens(Path.Combine(directory, "vocab.json"), vocabSize), LoadMerges(Path.Combine(directory, "merges.txt"), note));

    private static byte[] ReadLimited(string path) => InputFiles.ReadLimited(path, MaxFileBytes, "a vocabulary file");

    private static string[] LoadTokens(string path, int vocabSize)
    {
        var byToken = new Dictionary<string, int>(StringComparer.Ordinal);
        using (var doc = InputFiles.ParseJson(ReadLimited(path), "vocab.json", maxDepth: 4))
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelFileException("vocab.json: not a JSON object of token -> id");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
                    throw new ModelFileException($"vocab.json: the id of token '{p.Name}' is not a non-negative integer");
                byToken[p.Name] = id;
            }
        }
        if (byToken.Count != vocabSize)
            throw new ModelFileException($"vocab.json has {byToken.Count} tokens but config.json's vocab_size is {vocabSize}");
        var tokens = new string[vocabSize];
        foreach (var (token, id) in byToken)
        {
            if (id >= vocabSize)
                throw new ModelFileException($"vocab.json: token '{token}' has id {id}, not below vocab_size {vocabSize}");
            if (tokens[id] is not null)
                throw new ModelFileException($"vocab.json: id {id} is given to both '{tokens[id]}' and '{token}'");
            tokens[id] = token;
        }
        return tokens;
    }

    private static string[] LoadMerges(string path, Action<string> note)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(ReadLimited(path));
        }
        catch (DecoderFallbackException)
        {
            throw new ModelFileException("merges.txt is not valid UTF-8");
        }
        var lines = text.Split('\n');
        var merges = new List<string>(lines.Length);
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        int skipped = 0;
        for (int i = 0; i < lines.Length - 1; i++)
        {
            var fields = SplitWhitespace(lines[i]);
            if (fields.Count < 2)
            {
                skipped++;
                continue;
            }
            string pair = fields[0] + " " + fields[1];
            if (rank.TryGetValue(pair, out int earlier))
                merges[earlier] = null!;
            rank[pair] = merges.Count;
            merges.Add(pair);
        }
        if (skipped > 0)
            note($"note: merges.txt: skipped {skipped} line(s) with fewer than two fields");
        int repeated = merges.Count(m => m is null);
        if (repeated > 0)
            note($"note: merges.txt: {repeated} repeated pair(s) keep their last rank");
        return merges.Where(m => m is not null).ToArray();
    }

    /// <summary>Python's str.split(): runs of Unicode whitespace (str.isspace) separate fields.</summary>
    private static List<string> SplitWhitespace(string line)
    {
        var fields = new List<string>(3);
        int start = -1;
        for (int i = 0; i <= line.Length; i++)
        {
            bool space = i == line.Length || IsPythonSpace(line[i]);
            if (space && start >= 0)
            {
                fields.Add(line[start..i]);
                start = -1;
                if (fields.Count == 2)
                    break;
            }
            else if (!space && start < 0)
            {
                start = i;
            }
        }
        return fields;
    }

    private static bool IsPythonSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';
}
