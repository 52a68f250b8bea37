using XlmEdge.Cli.Commands;

namespace XlmEdge.Cli;

/// <summary>
/// The <c>xlmedge</c> console. Exit codes: 0 success, 1 bad input (model file or text), 2 usage
/// error. Errors are one line on stderr starting with "error:"; scripts depend on this.
/// </summary>
internal static class Program
{
    internal const string Usage = """
        usage:
          xlmedge fill-mask [-m MODEL] [--lang en] [--top-k 5] [--threads N] [--backend cpu|cuda|auto] [--verbose] [TEXT]
          xlmedge tokenize  [-m MODEL] [--lang en] [TEXT]
        With TEXT: human-readable output. Without TEXT: JSON lines {"text": ..., "lang": ...} on
        stdin (fill-mask also takes {"input_ids": [...], "lang": ...}), one JSON line out for each.
        MODEL defaults to the bundled demo model (random weights, for trying the tool only).
        --backend cuda runs on an NVIDIA GPU in xlmedge-gpu (the JIT-hosted build); auto takes the GPU
        when there is one, else the CPU; --verbose says which on stderr.
        The mask token is <special1>.
        """;

    private static int Main(string[] args) => Run(args, Console.In, Console.Out, Console.Error);

    /// <summary>
    /// The GPU backend: only in xlmedge-gpu, the JIT-hosted build of these sources
    /// (src/XlmEdge.Cli.Gpu); ILGPU cannot run under Native AOT, so the AOT xlmedge has none.
    /// </summary>
#if XLMEDGE_GPU
    internal static XlmBackendProvider? GpuBackend => XlmEdge.Gpu.IlgpuBackend.Cuda;
#else
    internal static XlmBackendProvider? GpuBackend => null;
#endif

    internal static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
            {
                (args.Length == 0 ? stderr : stdout).WriteLine(Usage);
                return args.Length == 0 ? 2 : 0;
            }
            var rest = args.AsSpan(1);
            return args[0] switch
            {
                "fill-mask" => FillMaskCommand.Run(CliArguments.Parse(rest, allowTopK: true), stdin, stdout, stderr),
                "tokenize" => TokenizeCommand.Run(CliArguments.Parse(rest, allowTopK: false), stdin, stdout, stderr),
                _ => throw new UsageException($"unknown command '{args[0]}'"),
            };
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            stderr.WriteLine(Usage);
            return 2;
        }
        catch (Exception e) when (e is XlmEdgeException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            stderr.WriteLine($"error: {OneLine(e.Message)}");
            return 1;
        }
    }

    internal static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
