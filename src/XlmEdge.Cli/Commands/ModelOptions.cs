using System.CommandLine;
using XlmEdge.CommandLine;
using XlmEdge.Tokenization;

namespace XlmEdge.Cli.Commands;

/// <summary>
/// The options every model command takes: <c>-m MODEL</c>, <c>-l LANG</c>, <c>-t THREADS</c>, <c>--mlock</c> and one TEXT;
/// fill-mask also <c>--backend</c> and <c>--verbose</c>.
/// </summary>
/// <param name="causal">Whether the command needs a causal model (generate, score): it picks the demo model without -m.</param>
internal sealed class ModelOptions(bool causal = false)
{
    /// <summary>Where the build puts the tiny fixture checkpoint, packed (random weights): a masked one, or the causal one.</summary>
    public static string DemoModelPath(bool causal) =>
        Path.Combine(AppContext.BaseDirectory, "models", causal ? "demo-tiny-clm-enfr.gguf" : "demo-tiny-enfr.gguf");

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

    public Option<bool> LockInMemory { get; } = new("--mlock")
    {
        Description = "lock the model file in RAM at load (mlock), so the OS cannot page weights out between requests; needs a memlock limit (ulimit -l) above the model's size, or CAP_IPC_LOCK",
    };

    public Option<XlmBackend> Backend { get; } = new("--backend")
    {
        Description = "where the forward pass runs: cpu; cuda (an NVIDIA GPU: only xlmedge-gpu, the JIT-hosted build, has the GPU backend); auto (the GPU if there is one, else the CPU)",
        HelpName = "cpu|cuda|auto",
        DefaultValueFactory = _ => XlmBackend.Cpu,
        CustomParser = result =>
        {
            string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            switch (text)
            {
                case "cpu": return XlmBackend.Cpu;
                case "cuda": return XlmBackend.Cuda;
                case "auto": return XlmBackend.Auto;
                default:
                    result.AddError($"option '--backend' takes cpu, cuda or auto, not '{text}'");
                    return XlmBackend.Cpu;
            }
        },
    };

    public Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "say on stderr which backend runs (and, for auto, why the CPU)",
    };

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
        string demo = DemoModelPath(causal);
        if (!File.Exists(demo))
            throw new UsageException($"no -m MODEL given and the demo model is missing ({demo})");
        stderr.WriteLine(causal
            ? "note: using the bundled causal demo model (tiny, random weights: its output is meaningless; pass -m MODEL)"
            : "note: using the bundled demo model (tiny, random weights: its predictions are meaningless; pass -m MODEL)");
        return demo;
    }

    /// <summary>Adds <c>--backend</c> and <c>--verbose</c> (the commands that run the model on a backend).</summary>
    public void AddBackendTo(Command command)
    {
        command.Options.Add(Backend);
        command.Options.Add(Verbose);
    }

    public XlmModel LoadModel(ParseResult parsed, TextWriter stderr)
    {
        // before the model is resolved, so that the error is all stderr says (no demo-model note)
        var backend = parsed.GetValue(Backend);
        if (backend == XlmBackend.Cuda && Program.GpuBackend is null)
            throw new BackendUnavailableException("this xlmedge has no GPU backend (it is the console built for Native AOT); --backend cuda needs xlmedge-gpu (src/XlmEdge.Cli.Gpu)");
        string path = ResolvePath(parsed, stderr);
        var result = parsed.GetResult(Threads);
        var options = new XlmModelOptions
        {
            Threads = result is null || result.Implicit ? Environment.ProcessorCount : parsed.GetValue(Threads),
            Backend = backend,
            BackendProvider = Program.GpuBackend,
            LockInMemory = parsed.GetValue(LockInMemory),
        };
        var model = XlmModel.Load(path, options);
        // Checked once here, not on every JSON line: no request can succeed on the other kind of model.
        if (model.IsCausal != causal)
        {
            model.Dispose();
            throw new InvalidInputException(causal
                ? $"{path} is a masked language model (xlm-mlm-*): it fills masks (xlmedge fill-mask) and cannot generate or score; that needs a causal model (xlm-clm-*)"
                : $"{path} is a causal language model (xlm-clm-*): it cannot fill masks; use xlmedge generate or xlmedge score");
        }
        if (parsed.GetValue(Verbose))
            stderr.WriteLine(model.WeightType == "q8" && model.Backend == XlmBackend.Cpu
                ? $"note: backend: {model.BackendDescription}; weights: q8, int8 kernels: {XlmRuntime.Int8Path}"
                : $"note: backend: {model.BackendDescription}; weights: {model.WeightType}");
        return model;
    }

    public XlmTokenizer LoadTokenizer(ParseResult parsed, TextWriter stderr) => XlmTokenizer.Load(ResolvePath(parsed, stderr));
}
