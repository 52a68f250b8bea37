namespace XlmEdge.Cli;

/// <summary>A usage mistake: the process exits with code 2 and prints the usage text.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Options shared by the commands: <c>-m MODEL</c>, <c>--lang</c>, <c>--top-k</c>, <c>--threads</c>, <c>--backend</c>, <c>--verbose</c>, one TEXT.</summary>
internal sealed class CliArguments
{
    public string? Model { get; private set; }
    public string Language { get; private set; } = "en";
    public int TopK { get; private set; } = 5;
    public int? Threads { get; private set; }
    public XlmBackend Backend { get; private set; } = XlmBackend.Cpu;
    public bool Verbose { get; private set; }
    public string? Text { get; private set; }

    public static CliArguments Parse(ReadOnlySpan<string> args, bool allowTopK)
    {
        var result = new CliArguments();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            switch (a)
            {
                case "-m" or "--model":
                    result.Model = Value(args, ref i);
                    break;
                case "-l" or "--lang":
                    result.Language = Value(args, ref i);
                    break;
                case "-k" or "--top-k" when allowTopK:
                    result.TopK = PositiveInt(a, Value(args, ref i));
                    break;
                case "-t" or "--threads":
                    result.Threads = PositiveInt(a, Value(args, ref i));
                    break;
                case "--backend":
                    result.Backend = Value(args, ref i) switch
                    {
                        "cpu" => XlmBackend.Cpu,
                        "cuda" => XlmBackend.Cuda,
                        "auto" => XlmBackend.Auto,
                        var other => throw new UsageException($"option '--backend' takes cpu, cuda or auto, not '{other}'"),
                    };
                    break;
                case "-v" or "--verbose":
                    result.Verbose = true;
                    break;
                case "--":
                    if (i + 1 < args.Length)
                        result.SetText(string.Join(' ', args[(i + 1)..].ToArray()));
                    return result;
                default:
                    if (a.StartsWith('-') && a.Length > 1)
                        throw new UsageException($"unknown option '{a}'");
                    result.SetText(a);
                    break;
            }
        }
        return result;
    }

    private void SetText(string text)
    {
        if (Text is not null)
            throw new UsageException("give the text as one argument (quote it)");
        Text = text;
    }

    private static string Value(ReadOnlySpan<string> args, ref int i)
    {
        if (i + 1 >= args.Length)
            throw new UsageException($"option '{args[i]}' needs a value");
        return args[++i];
    }

    private static int PositiveInt(string option, string value) =>
        int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n > 0
            ? n
            : throw new UsageException($"option '{option}' needs a positive whole number, not '{value}'");
}
