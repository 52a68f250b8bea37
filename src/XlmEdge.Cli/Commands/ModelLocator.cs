namespace XlmEdge.Cli.Commands;

/// <summary>Finds the model file: the one named with -m, else the demo model packed at build time.</summary>
internal static class ModelLocator
{
    /// <summary>Where the build puts the tiny fixture checkpoint, packed (random weights).</summary>
    public static string DemoModelPath => Path.Combine(AppContext.BaseDirectory, "models", "demo-tiny-enfr.gguf");

    public static XlmModel Load(CliArguments args, TextWriter stderr)
    {
        string path = Resolve(args, stderr);
        if (args.Backend == XlmBackend.Cuda && Program.GpuBackend is null)
            throw new BackendUnavailableException("this xlmedge has no GPU backend (it is the console built for Native AOT); --backend cuda needs xlmedge-gpu (src/XlmEdge.Cli.Gpu)");
        var options = new XlmModelOptions
        {
            Threads = args.Threads ?? Environment.ProcessorCount,
            Backend = args.Backend,
            BackendProvider = Program.GpuBackend,
        };
        var model = XlmModel.Load(path, options);
        if (args.Verbose)
            stderr.WriteLine($"note: backend: {model.BackendDescription}");
        return model;
    }

    public static string Resolve(CliArguments args, TextWriter stderr)
    {
        if (args.Model is not null)
            return args.Model;
        if (!File.Exists(DemoModelPath))
            throw new UsageException($"no -m MODEL given and the demo model is missing ({DemoModelPath})");
        stderr.WriteLine("note: using the bundled demo model (tiny, random weights: its predictions are meaningless; pass -m MODEL)");
        return DemoModelPath;
    }
}
