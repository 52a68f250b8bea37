using System.CommandLine;
using XlmEdge.CommandLine;
using XlmEdge.Tokenization;

namespace XlmEdge.Cli.Commands;

/// <summary>The options every model command takes: <c>-m MODEL</c>, <c>-l LANG</c>, <c>-t THREADS</c> and one TEXT.</summary>
internal sealed class ModelOptions
{
    /// <summary>Where the build puts the tiny fixture checkpoint, packed (random weights).</summary>
    public static string DemoModelPath => Path.Combine(AppContext.BaseDirectory, "models", "demo-tiny-enfr.gguf");

    public Option<string?> Model { get; } = new("--model", "-m")
    {
        Description = "the .gguf model file made by xlmedge-weights pack [default: the bundled demo model]",
        HelpName = "MODEL",
    };

    public Option<string> Language { get; } = new("--lang", "-l")
    {
        Description = "language code of the text (one of the model's, e.g. en, fr)",
        HelpName = "LANG",
        DefaultValueFactory = _ => "en",
    };

    public Option<int> Threads { get; } = ConsoleHost.PositiveInt("--threads", "-t", "N", "threads that run the kernels [default: one per core]", null);

    public Argument<string?> Text { get; } = new("TEXT")
    {
        Description = "the text (quote it); without TEXT, JSON lines are read from stdin",
        Arity = ArgumentArity.ZeroOrOne,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Language);
        command.Arguments.Add(Text);
    }

    /// <summary>The model file named with -m, else the demo model (saying so on stderr).</summary>
    public string ResolvePath(ParseResult parsed, TextWriter stderr)
    {
        if (parsed.GetValue(Model) is { } path)
            return path;
        if (!File.Exists(DemoModelPath))
            throw new UsageException($"no -m MODEL given and the demo model is missing ({DemoModelPath})");
        stderr.WriteLine("note: using the bundled demo model (tiny, random weights: its predictions are meaningless; pass -m MODEL)");
        return DemoModelPath;
    }

    public XlmModel LoadModel(ParseResult parsed, TextWriter stderr)
    {
        string path = ResolvePath(parsed, stderr);
        var result = parsed.GetResult(Threads);
        var options = result is null || result.Implicit ? new XlmModelOptions() : new XlmModelOptions { Threads = parsed.GetValue(Threads) };
        return XlmModel.Load(path, options);
    }

    public XlmTokenizer LoadTokenizer(ParseResult parsed, TextWriter stderr) => XlmTokenizer.Load(ResolvePath(parsed, stderr));
}
