namespace XlmEdge.Cli.Commands;

/// <summary>Finds the model file: the one named with -m, else the demo model packed at build time.</summary>
internal static class ModelLocator
{
    /// <summary>Where the build puts the tiny fixture checkpoint, packed (random weights).</summary>
    public static string DemoModelPath => Path.Combine(AppContext.BaseDirectory, "models", "demo-tiny-enfr.gguf");

    public static XlmModel Load(CliArguments args)
    {
        string path = args.Model ?? DemoModelPath;
        if (args.Model is null && !File.Exists(path))
            throw new UsageException($"no -m MODEL given and the demo model is missing ({path})");
        var options = args.Threads is int n ? new XlmModelOptions { Threads = n } : new XlmModelOptions();
        return XlmModel.Load(path, options);
    }
}
