namespace XlmEdge.Cli.Commands;

/// <summary>Finds the model file: the one named with -m, else the demo model packed at build time.</summary>
internal static class ModelLocator
{
    /// <summary>Where the build puts the tiny fixture checkpoint, packed (random weights).</summary>
    public static string DemoModelPath => Path.Combine(AppContext.BaseDirectory, "models", "demo-tiny-enfr.gguf");

    public static XlmModel Load(CliArguments args, TextWriter stderr)
    {
        string path = Resolve(args, stderr);
        var options = args.Threads is int n ? new XlmModelOptions { Threads = n } : new XlmModelOptions();
        return XlmModel.Load(path, options);
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
