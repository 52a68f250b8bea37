using System.CommandLine;
using XlmEdge.Cli.Commands;
using XlmEdge.CommandLine;

namespace XlmEdge.Cli;

/// <summary>
/// The <c>xlmedge</c> console. Exit codes: 0 success, 1 bad input (model file or text), 2 usage
/// error. Errors are one line on stderr starting with "error:"; scripts depend on this.
/// </summary>
/// <remarks>
/// A command is a class with a <c>Create(ConsoleStreams)</c> that returns its System.CommandLine
/// <see cref="Command"/>; add it to the list in <see cref="Run"/> and it gets <c>--help</c> and the
/// error convention (<see cref="ConsoleHost"/>).
/// </remarks>
internal static class Program
{
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
        var io = new ConsoleStreams(stdin, stdout, stderr);
        return ConsoleHost.Run("xlmedge", Description, [FillMaskCommand.Create(io), TokenizeCommand.Create(io), GenerateCommand.Create(io), ScoreCommand.Create(io)], args, stdout, stderr);
    }

    private const string Description = """
        xlmedge: the XLM language models on the CPU: fill-mask and tokenize with a masked model
        (xlm-mlm-*), generate and score with a causal one (xlm-clm-*).
        With TEXT the output is for people; without TEXT each stdin line is a JSON request and each
        answer one JSON line. The mask token is <special1>. MODEL defaults to a bundled demo model
        (tiny, random weights: for trying the tool only).
        """;
}

/// <summary>The streams a command reads and writes (the process's, or a test's).</summary>
internal sealed record ConsoleStreams(TextReader In, TextWriter Out, TextWriter Error);
