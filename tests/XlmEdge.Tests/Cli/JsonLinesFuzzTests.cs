using System.Diagnostics;
using System.Text;
using System.Text.Json;
using XlmEdge.Tokenization;

namespace XlmEdge.Tests.Cli;

/// <summary>
/// A fuzzer over the console's JSON-lines mode (fill-mask, tokenize, generate, score): random requests, mutated
/// bytes, invalid UTF-8, lone surrogates, huge and deeply nested values. Each batch goes through
/// stdin as bytes (decoded as the console decodes them) and must keep the contract: exit 0 or 1,
/// one JSON object answered per non-blank line, errors as {"error":"line N: ..."}, a good line
/// after a bad one still answered, and no exception text anywhere.
/// </summary>
/// <remarks>
/// Runs for <c>XLMEDGE_FUZZ_SECONDS</c> seconds (default 10). Every batch has its own seed, printed on a
/// failure; <c>XLMEDGE_FUZZ_SEED</c> replays one batch.
/// </remarks>
public sealed class JsonLinesFuzzTests
{
    private const string Good = "{\"text\":\"the <special1> is here .\",\"lang\":\"en\"}";

    private static readonly string[] Seeds =
    [
        Good,
        "{\"text\":\"le <special1> est <special1> .\",\"lang\":\"fr\"}",
        "{\"input_ids\":[0,15,5,14,1],\"lang\":\"en\"}",
        "{\"text\":\"a <special1> b\",\"targets\":[\"paris\",\"the\"]}",
        "{\"text\":\"l'homme <special1>\",\"lang\":\"fr\",\"extra\":{\"a\":[1,2,{\"b\":null}]}}",
    ];

    private static readonly string[] Fragments =
    [
        "\\ud800", "\\udc00", "\\udbff\\udfff", "\\u0000", "\\\"", "\\\\", "<special1>", "<s>", "</s>", "<unk>",
        "{", "}", "[", "]", ",", ":", "\"", "null", "true", "1e400", "-0", "2147483648", "NaN", "\u00e9", "\ud83d\ude00",
        "\u202e", "\t", "\r", "\u0085", "\u2028",
    ];

    [Theory]
    [InlineData("fill-mask")]
    [InlineData("tokenize")]
    [InlineData("generate")]
    [InlineData("score")]
    public void TheJsonLinesContractHoldsOnRandomInput(string command)
    {
        double seconds = double.TryParse(Environment.GetEnvironmentVariable("XLMEDGE_FUZZ_SECONDS"), out var s) ? s : 10;
        int? replay = int.TryParse(Environment.GetEnvironmentVariable("XLMEDGE_FUZZ_SEED"), out var r) ? r : null;
        var clock = Stopwatch.StartNew();
        int batches = 0;
        for (int seed = replay ?? 1; replay is null ? clock.Elapsed.TotalSeconds < seconds / 2 : seed == replay; seed++, batches++)
            RunBatch(command, seed);
        Assert.True(batches > 0);
    }

    private static void RunBatch(string command, int seed)
    {
        var random = new Random(seed);
        var input = new MemoryStream();
        var expectGood = new List<bool>();   // per non-blank line: a known-good sentinel?
        int lines = random.Next(1, 12);
        for (int i = 0; i < lines; i++)
        {
            byte[] line = Line(random);
            // A line made only of whitespace is skipped by the console; count only the others.
            if (Encoding.UTF8.GetString(line).Trim().Length > 0 && Array.IndexOf(line, (byte)'\n') < 0)
            {
                input.Write(line);
                input.WriteByte((byte)'\n');
                expectGood.Add(false);
            }
            input.Write(Encoding.UTF8.GetBytes(Good + "\n"));
            expectGood.Add(true);
        }
        input.Position = 0;

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit;
        using (var stdin = new StreamReader(input, new UTF8Encoding(false)))
            exit = XlmEdge.Cli.Program.Run(command switch
                {
                    "fill-mask" => [command, "-m", TestModels.TinyEnfrPath, "-k", "3"],
                    "tokenize" => [command, "-m", TestModels.TinyEnfrPath],
                    // The causal model; the mask token is an ordinary token to it.
                    "generate" => [command, "-m", TestModels.TinyClmEnfrPath, "-n", "2"],
                    _ => [command, "-m", TestModels.TinyClmEnfrPath],
                }, stdin, stdout, stderr);

        string context = $"seed {seed} ({command}; replay with XLMEDGE_FUZZ_SEED={seed})";
        Assert.True(exit is 0 or 1, $"{context}: exit {exit}");
        foreach (var text in new[] { stdout.ToString(), stderr.ToString() })
        {
            Assert.False(text.Contains("Exception", StringComparison.Ordinal) || text.Contains("   at ", StringComparison.Ordinal)
                || text.Contains("System.", StringComparison.Ordinal), $"{context}: exception text in the output: {text}");
        }
        var answers = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(answers.Length == expectGood.Count, $"{context}: {answers.Length} answers for {expectGood.Count} lines");
        for (int i = 0; i < answers.Length; i++)
        {
            using var doc = JsonDocument.Parse(answers[i]);
            var root = doc.RootElement;
            Assert.Equal(JsonValueKind.Object, root.ValueKind);
            bool error = root.TryGetProperty("error", out var message);
            if (expectGood[i])
                Assert.False(error, $"{context}: the good line after a bad one failed: {answers[i]}");
            else if (error)
                Assert.Matches(@"^line \d+: \S", message.GetString()!);
            else
                Assert.True(root.TryGetProperty(command switch
                {
                    "tokenize" => "ids",
                    "fill-mask" => "masks",
                    "generate" => "generated_ids",
                    _ => "token_log_probs",
                }, out _), $"{context}: {answers[i]}");
        }
        Assert.Equal(answers.Any(a => a.StartsWith("{\"error\"", StringComparison.Ordinal)) ? 1 : 0, exit);
    }

    /// <summary>One request line, as bytes: a mutated seed, a huge or deep value, or random bytes.</summary>
    private static byte[] Line(Random random)
    {
        switch (random.Next(8))
        {
            case 0: // invalid UTF-8 inside an otherwise fine request
                {
                    var bytes = Encoding.UTF8.GetBytes(Seeds[random.Next(Seeds.Length)]).ToList();
                    byte[][] bad = [[0xFF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF]];
                    bytes.InsertRange(random.Next(bytes.Count + 1), bad[random.Next(bad.Length)]);
                    return [.. bytes];
                }
            case 1: // a huge string, past the text limit or not
                {
                    int length = random.Next(2) == 0 ? random.Next(1, 5000) : XlmTokenizer.MaxTextLength + random.Next(1, 100);
                    return Encoding.UTF8.GetBytes("{\"text\":\"" + new string('a', length) + " <special1>\"}");
                }
            case 2: // deep nesting in a value
                {
                    int depth = random.Next(1, 5000);
                    return Encoding.UTF8.GetBytes("{\"text\":\"a <special1>\",\"x\":" + new string('[', depth) + new string(']', depth) + "}");
                }
            case 3: // long id arrays and odd numbers
                {
                    int count = random.Next(0, 2000);
                    var ids = Enumerable.Range(0, count).Select(_ => random.Next(6) switch
                    {
                        0 => "5", 1 => "-1", 2 => "1e3", 3 => "99999999999", 4 => "0.5", _ => random.Next(0, 2000).ToString(),
                    });
                    return Encoding.UTF8.GetBytes("{\"input_ids\":[" + string.Join(',', ids) + "]}");
                }
            case 4: // random bytes
                {
                    var bytes = new byte[random.Next(1, 200)];
                    random.NextBytes(bytes);
                    return [.. bytes.Where(b => b != (byte)'\n')];
                }
            default: // a seed with fragments inserted, deleted or replaced
                {
                    var text = new StringBuilder(Seeds[random.Next(Seeds.Length)]);
                    for (int m = random.Next(1, 6); m > 0; m--)
                    {
                        int at = random.Next(text.Length + 1);
                        switch (random.Next(3))
                        {
                            case 0:
                                text.Insert(at, Fragments[random.Next(Fragments.Length)]);
                                break;
                            case 1 when at < text.Length:
                                text.Remove(at, Math.Min(random.Next(1, 4), text.Length - at));
                                break;
                            default:
                                if (at < text.Length)
                                    text[at] = (char)random.Next(0x20, 0x7F);
                                break;
                        }
                    }
                    return Encoding.UTF8.GetBytes(text.ToString().Replace('\n', ' '));
                }
        }
    }
}
