using System.Diagnostics;
using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace XlmEdge.Gpu.Tests;

/// <summary>
/// Entry point of the published test binary, for a GPU machine without the .NET SDK
/// (src/XlmEdge.Gpu/device-check.sh): <c>test [NAME]</c> runs this assembly's tests (those whose
/// class or method name contains NAME) the way xunit would, <c>bench ...</c> runs the GPU benchmark.
/// <c>dotnet test</c> does not use it; it runs the same tests through xunit.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "probe")
            return Probe(Console.Out);
        if (args.Length > 0 && args[0] == "bench")
        {
            try
            {
                return GpuBenchmark.Run(args[1..], Console.Out);
            }
            catch (XlmEdgeException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        }
        if (args.Length > 0 && args[0] == "test")
            return RunTests(args.Length > 1 ? args[1] : null, Console.Out);
        Console.Error.WriteLine("usage: XlmEdge.Gpu.Tests probe | test [NAME] | bench [--cpu-threads N] [--quick] [--model FILE] [--work DIR]");
        return 2;
    }

    /// <summary>What ILGPU sees: the CUDA device the backend would take (or why none), and whether cuBLAS loads. Exit 1 without one.</summary>
    private static int Probe(TextWriter log)
    {
        if (!IlgpuBackend.IsCudaAvailable(out string why))
        {
            log.WriteLine($"no CUDA device for the GPU backend: {why}");
            return 1;
        }
        using var memory = IlgpuBackend.Cuda.Open(out string device);
        log.WriteLine(device);
        log.WriteLine($"free device memory: {memory.FreeBytes / (1024.0 * 1024 * 1024):0.0} GiB");
        var cuda = (ILGPU.Runtime.Cuda.CudaAccelerator)memory.Accelerator;
        if (IlgpuBackend.TryCreateCuBlas(cuda, out var blas, out string? note))
        {
            log.WriteLine($"cuBLAS {blas.Version} loads: the big GEMMs run on cuBLAS Sgemm");
            blas.Dispose();
        }
        else
            log.WriteLine($"{note}: the GEMMs run on the own kernel");
        return 0;
    }

    /// <summary>
    /// Runs every [Fact] and every row of every [Theory] of the public test classes, one at a time,
    /// printing one line per failure and a summary. A minimal xunit runner: data attributes give
    /// the rows, a constructor may take an <see cref="ITestOutputHelper"/>, IDisposable is honoured.
    /// </summary>
    private static int RunTests(string? filter, TextWriter log)
    {
        int passed = 0, failed = 0;
        var clock = Stopwatch.StartNew();
        foreach (var type in typeof(Program).Assembly.GetTypes().Where(t => t.IsPublic && t.IsClass && !t.IsAbstract).OrderBy(t => t.Name))
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.GetCustomAttribute<FactAttribute>() is not null))
            {
                string name = $"{type.Name}.{method.Name}";
                if (filter is not null && !name.Contains(filter, StringComparison.OrdinalIgnoreCase))
                    continue;
                var rows = method.GetCustomAttributes<DataAttribute>().SelectMany(a => a.GetData(method)).ToList();
                if (rows.Count == 0)
                    rows.Add([]);
                foreach (var row in rows)
                {
                    string label = row.Length == 0 ? name : $"{name}({string.Join(", ", row.Select(Show))})";
                    var output = new CollectingOutput();
                    var started = clock.Elapsed;
                    try
                    {
                        var constructor = type.GetConstructors().Single();
                        object instance = constructor.Invoke(constructor.GetParameters().Length == 0 ? [] : [output]);
                        try
                        {
                            method.Invoke(instance, row);
                        }
                        finally
                        {
                            (instance as IDisposable)?.Dispose();
                        }
                        passed++;
                        log.WriteLine($"pass {label} ({(clock.Elapsed - started).TotalSeconds:0.00} s){output.Text}");
                    }
                    catch (Exception e)
                    {
                        failed++;
                        var cause = e is TargetInvocationException { InnerException: { } inner } ? inner : e;
                        log.WriteLine($"FAIL {label}: {cause.GetType().Name}: {cause.Message.ReplaceLineEndings(" ")}{output.Text}");
                    }
                }
            }
        }
        log.WriteLine($"{passed} passed, {failed} failed in {clock.Elapsed.TotalSeconds:0.0} s");
        return failed == 0 && passed > 0 ? 0 : 1;
    }

    private static string Show(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        int[] a => $"[{string.Join(", ", a)}]",
        _ => value.ToString() ?? "",
    };

    private sealed class CollectingOutput : ITestOutputHelper
    {
        private readonly System.Text.StringBuilder _text = new();

        public string Text => _text.Length == 0 ? "" : " | " + _text.ToString().TrimEnd().ReplaceLineEndings(" | ");

        public void WriteLine(string message) => _text.AppendLine(message);

        public void WriteLine(string format, params object[] args) => _text.AppendLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
    }
}
