namespace XlmEdge.Benchmarks;

/// <summary>
/// The benchmark's Python scripts (python/ beside the binary: checkpoint maker, ONNX exporter, PyTorch
/// peer), run with Debian's system Python, where python3-torch, python3-numpy and python3-onnx live
/// (a pyenv python3 first on PATH does not see them).
/// </summary>
internal sealed class PythonScripts(string interpreter)
{
    public const string SystemPython = "/usr/bin/python3";

    public string Interpreter { get; } = interpreter;

    public static string PathOf(string script) => Path.Combine(AppContext.BaseDirectory, "python", script);

    /// <summary>Whether the interpreter imports every module named.</summary>
    public bool HasModules(params string[] modules) =>
        File.Exists(Interpreter) && ChildProcess.Run(Interpreter, ["-c", "import " + string.Join(", ", modules)]).ExitCode == 0;

    /// <summary>Runs a script to completion, its output shown in the log; false when it fails.</summary>
    public bool Run(TextWriter log, string script, params string[] arguments)
    {
        var run = ChildProcess.Run(Interpreter, [PathOf(script), .. arguments], new Dictionary<string, string> { ["PYTHONDONTWRITEBYTECODE"] = "1" });
        log.Write(run.Stdout);
        if (run.ExitCode != 0)
            log.WriteLine($"FAILED: {script} {string.Join(' ', arguments)} exited with {run.ExitCode}");
        return run.ExitCode == 0;
    }
}
