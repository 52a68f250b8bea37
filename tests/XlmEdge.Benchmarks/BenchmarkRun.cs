using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using XlmEdge.Kernels;

namespace XlmEdge.Benchmarks;

/// <summary>
/// The parent process of a full run: writes the cases, runs one child process per engine,
/// measures cold starts, sizes and the machine, checks that the engines agree, and writes the
/// report (results.md, results.json, benchmark-latency.svg) into the output folder.
/// </summary>
internal sealed class BenchmarkRun
{
    /// <summary>The sentence the cold-start runs of the XlmEdge CLI fill.</summary>
    public const string ColdStartText = "the cat sat on the <special1> and looked at the dog .";

    /// <summary>The sentence every artefact fills per call: 21 ids with &lt;s&gt; and &lt;/s&gt; (the T = 21 of issue 11's figures).</summary>
    public const string ArtefactText = "in the morning the old man walked slowly to the <special1> and bought fresh bread for us .";

    private readonly BenchOptions _options;
    private readonly TextWriter _log;
    private readonly int _threads;
    private readonly string _outDir;
    private readonly string _python;

    public BenchmarkRun(BenchOptions options, TextWriter log)
    {
        _options = options;
        _log = log;
        _threads = options.Int("threads", Environment.ProcessorCount);
        _outDir = Path.GetFullPath(options.Get("out") ?? "bench-out");
        _python = options.Get("python") ?? PythonScripts.SystemPython;
    }

    public int Run()
    {
        var checkpoint = _options.Require("checkpoint");
        var geometry = ModelGeometry.FromCheckpoint(checkpoint);
        var engines = (_options.Get("engines") ?? "xlmedge,ort,ort-encoder,pytorch").Split(',', StringSplitOptions.RemoveEmptyEntries);
        Directory.CreateDirectory(_outDir);
        var machine = MachineProbe.Describe();
        _log.WriteLine($"machine: {machine.CpuModel}, {machine.Cores} cores, load average {machine.LoadAverage}; {_threads} threads per engine");

        var cases = BenchCase.Standard(geometry.VocabSize, _options.Int("seed", 1), _options.Double("iterations", 1.0));
        var casesPath = Path.Combine(_outDir, "cases.json");
        BenchCase.WriteJson(cases, casesPath);

        var failures = new List<string>();
        var results = new Dictionary<string, EngineResult>();
        if (engines.Contains("pytorch"))
        {
            // PyTorch sweeps on its own (torch_bench.py), before the others take turns.
            _log.WriteLine("pytorch:");
            var prefix = Path.Combine(_outDir, "pytorch");
            var run = ChildProcess.Run(_python, [TorchScript, "sweep", "--ckpt", checkpoint, "--cases", casesPath, "--threads", Inv(_threads), "--out", prefix], TorchEnvironment);
            if (run.ExitCode == 0)
                results["pytorch"] = EngineResult.Read(prefix, cases, geometry);
            else
                failures.Add($"pytorch sweep exited with {run.ExitCode}");
        }
        var sweepEngines = engines.Where(e => e != "pytorch").Select(e => new SweepEngine(e, e, ModelFor(e))).ToList();
        _log.WriteLine($"{string.Join(", ", sweepEngines.Select(e => e.Label))}, taking turns case by case:");
        var sweep = InterleavedSweep.Run(sweepEngines, checkpoint, casesPath, cases, geometry, _threads, _outDir, probeMachine: engines.Contains("xlmedge"), _log, failures);
        foreach (var (engine, result) in sweep.Engines)
            results[engine] = result;

        var agreements = results.Values.Where(r => r.Engine is "xlmedge" or "pytorch")
            .Select(r => Correctness.Compare(r, results.GetValueOrDefault("ort"), results.GetValueOrDefault("ort-encoder"), cases)).ToList();
        failures.AddRange(agreements.Where(a => !a.Passed(Correctness.Tolerance)).Select(a => $"{a.Engine} disagrees with ONNX Runtime"));

        var coldStarts = _options.Flag("no-cold-start") ? [] : MeasureColdStarts(engines, checkpoint, cases);
        failures.AddRange(coldStarts.Where(c => !c.Succeeded).Select(c => $"{c.Engine} cold start failed"));
        var forwards = new List<ForwardTiming>();
        if (engines.Contains("xlmedge"))
        {
            _log.WriteLine("generated against generic forward (encoder), interleaved in one process:");
            foreach (var gguf in new[] { _options.Require("gguf"), _options.Get("tiny-gguf") }.OfType<string>())
            {
                var timings = ForwardComparison.Measure(gguf, _threads, "8,16,128", _options.Double("iterations", 1.0), _outDir, _log);
                if (timings.Count == 0)
                    failures.Add($"the forward comparison on {Path.GetFileName(gguf)} failed");
                forwards.AddRange(timings);
            }
        }
        var artefacts = engines.Contains("xlmedge") ? MeasureArtefacts() : [];
        failures.AddRange(artefacts.Where(a => !a.Succeeded).Select(a => $"artefact {a.Name}: {a.Error}"));
        if (artefacts.Where(a => a.Succeeded).Select(a => a.Top1).Distinct().Count() > 1)
            failures.Add("the artefacts disagree on the top-1 id");
        var torch = engines.Contains("pytorch") ? ReadTorchInfo() : null;
        _log.WriteLine("measuring the FMA peak per width and the memory read bandwidth");
        var report = new BenchReport
        {
            Machine = machine,
            Threads = _threads,
            OrtVersion = OrtEnv.Instance().GetVersionString(),
            Torch = torch,
            Fma = FmaPeak.Measure(_threads),
            FmaNextToCases = sweep.FmaGflops,
            BandwidthNextToCases = sweep.BandwidthGBps,
            XlmEdgePath = CpuFeatures.Selected,
            BandwidthSingleGBps = MachineProbe.ReadBandwidthGBps(1),
            BandwidthAllGBps = MachineProbe.ReadBandwidthGBps(_threads),
            Geometry = geometry,
            Cases = cases,
            Engines = results,
            ColdStarts = coldStarts,
            Artefacts = artefacts,
            Forwards = forwards,
            Sizes = MeasureSizes(engines, checkpoint, torch),
            Agreements = agreements,
            LoadAfter = MachineProbe.LoadAverage(),
        };
        return Publish(report, failures);
    }

    /// <summary>The artefact timings alone (mode <c>artefacts</c>, same options as a run): for looking into one artefact's cost.</summary>
    public int RunArtefacts()
    {
        var results = MeasureArtefacts();
        return results.All(r => r.Succeeded) && results.Select(r => r.Top1).Distinct().Count() == 1 ? 0 : 1;
    }

    private int Publish(BenchReport report, List<string> failures)
    {
        var markdown = report.Markdown();
        File.WriteAllText(Path.Combine(_outDir, "results.md"), markdown);
        File.WriteAllText(Path.Combine(_outDir, "benchmark-latency.svg"), SvgChart.Render(report));
        report.WriteJson(Path.Combine(_outDir, "results.json"));
        Console.WriteLine(markdown);
        _log.WriteLine($"wrote {_outDir}/results.md, results.json, benchmark-latency.svg");
        foreach (var f in failures)
            _log.WriteLine("FAILED: " + f);
        return failures.Count == 0 ? 0 : 1;
    }

    private string ModelFor(string engine) => engine switch
    {
        "xlmedge" => _options.Require("gguf"),
        "ort" => _options.Require("onnx"),
        "ort-encoder" => _options.Require("onnx-encoder"),
        _ => throw new UsageException($"unknown engine '{engine}' (xlmedge, ort, ort-encoder, pytorch)"),
    };

    private static string TorchScript => PythonScripts.PathOf("torch_bench.py");

    /// <summary>
    /// torch runs its own kernels on OpenMP threads and calls OpenBLAS, which has its own pthreads:
    /// both get the benchmark's thread count, and OpenMP workers wait passively, because OpenMP
    /// workers spinning while OpenBLAS's threads run made PyTorch's forward pass 2-4x slower on this
    /// 2-core machine (measured: T = 16 fill-mask 100-130 ms passive, 210-280 ms by default).
    /// </summary>
    private Dictionary<string, string> TorchEnvironment => new()
    {
        ["OMP_NUM_THREADS"] = Inv(_threads),
        ["OPENBLAS_NUM_THREADS"] = Inv(_threads),
        ["OMP_WAIT_POLICY"] = "PASSIVE",
    };

    private List<ColdStart> MeasureColdStarts(string[] engines, string checkpoint, IReadOnlyList<BenchCase> cases)
    {
        var repeats = _options.Int("cold-repeats", 5);
        var ids = string.Join(",", cases.First(c => c.Kind == CaseKind.FillMask && c.Tokens == 16 && c.Batch == 1).Ids[0]);
        var list = new List<ColdStart>();
        if (engines.Contains("xlmedge") && _options.Get("xlmedge-cli") is { } cli)
            list.Add(ColdStartOf("xlmedge", $"Native AOT `xlmedge fill-mask -m MODEL --lang en \"{ColdStartText}\"`", repeats,
                () => ChildProcess.Run(cli, ["fill-mask", "-m", _options.Require("gguf"), "--lang", "en", ColdStartText], measureMemory: true)));
        if (engines.Contains("ort"))
            list.Add(ColdStartOf("ort", "a .NET process that creates the session (full export) and runs fill-mask once at T = 16", repeats,
                () => RunSelf(["ort-cold", "--model", _options.Require("onnx"), "--checkpoint", checkpoint, "--threads", Inv(_threads), "--ids", ids], measureMemory: true)));
        if (engines.Contains("pytorch"))
            list.Add(ColdStartOf("pytorch", "`python3 torch_bench.py cold`: import torch, load the checkpoint (xlm_torch.XlmTorch), fill-mask once at T = 16", repeats,
                () => ChildProcess.Run(_python, [TorchScript, "cold", "--ckpt", checkpoint, "--threads", Inv(_threads), "--ids", ids], TorchEnvironment, measureMemory: true)));
        return list;
    }

    /// <summary>
    /// Fill-mask on <see cref="ArtefactText"/> per call through each artefact a user runs (see <see cref="Artefacts"/>):
    /// the library in process, the Native AOT console (--xlmedge-cli), the console on the JIT (--xlmedge-cli-jit,
    /// the built XlmEdge.Cli.dll) and libxlmedge.so through the C API (--xlmedge-c-driver).
    /// </summary>
    private List<ArtefactResult> MeasureArtefacts()
    {
        _log.WriteLine($"artefacts: fill-mask on \"{ArtefactText}\", one call at a time, round robin:");
        var gguf = _options.Require("gguf");
        string[] consoleArgs = ["fill-mask", "-m", gguf, "--lang", "en", "--threads", Inv(_threads)];
        using var artefacts = new Artefacts();
        var (self, selfArgs) = Self(["serve", "--model", gguf, "--threads", Inv(_threads), "--lang", "en"]);
        artefacts.Add("library", "XlmModel.FillMask in a .NET process (JIT, tiered PGO)", self, selfArgs, text => text);
        if (_options.Get("xlmedge-cli") is { } cli)
            artefacts.Add("console-aot", "the Native AOT `xlmedge fill-mask` console, JSON lines", cli, consoleArgs, JsonLine);
        if (_options.Get("xlmedge-cli-jit") is { } dll)
            artefacts.Add("console-jit", "the same console on the JIT (`dotnet XlmEdge.Cli.dll fill-mask`), JSON lines", "dotnet", [dll, .. consoleArgs], JsonLine);
        if (_options.Get("xlmedge-c-driver") is { } driver)
            artefacts.Add("c-api", "libxlmedge.so (Native AOT) through xlmedge_fill_mask from C (native/xlmedge_bench.c)", driver, [gguf, Inv(_threads), "en"], text => text);
        return artefacts.Measure(ArtefactText, TimeSpan.FromSeconds(3), _options.Int("artefact-calls", 41), _log);

        static string JsonLine(string text) => JsonSerializer.Serialize(new Dictionary<string, string> { ["text"] = text, ["lang"] = "en" });
    }

    private ColdStart ColdStartOf(string engine, string what, int repeats, Func<ChildRun> run)
    {
        var runs = Enumerable.Range(0, repeats).Select(_ => run()).ToList();
        var ok = runs.All(r => r.ExitCode == 0);
        var cold = new ColdStart(engine, what, runs.Select(r => r.WallMs).ToArray(), runs.Max(r => r.PeakRssKb), ok);
        _log.WriteLine($"cold start {engine}: median {Stats.Median(cold.WallMs):F0} ms, peak RSS {cold.PeakRssKb / 1024} MiB{(ok ? "" : " (FAILED: exit " + runs.First(r => r.ExitCode != 0).ExitCode + ")")}");
        return cold;
    }

    private List<DiskSize> MeasureSizes(string[] engines, string checkpoint, TorchInfo? torch)
    {
        var sizes = new List<DiskSize>();
        if (engines.Contains("xlmedge"))
        {
            var gguf = _options.Require("gguf");
            var cli = _options.Get("xlmedge-cli");
            sizes.Add(cli is not null && File.Exists(cli)
                ? new DiskSize("xlmedge", Path.GetFileName(gguf), Size(gguf), "the Native AOT `xlmedge` executable (self-contained: runtime and library inside)", Size(cli))
                : new DiskSize("xlmedge", Path.GetFileName(gguf), Size(gguf), "XlmEdge.dll (needs a .NET 10 runtime)", Size(Path.Combine(AppContext.BaseDirectory, "XlmEdge.dll"))));
        }
        var ortNative = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libonnxruntime.so");
        var ortManaged = Path.Combine(AppContext.BaseDirectory, "Microsoft.ML.OnnxRuntime.dll");
        foreach (var (engine, option) in new[] { ("ort", "onnx"), ("ort-encoder", "onnx-encoder") })
        {
            if (engines.Contains(engine) && _options.Get(option) is { } model)
                sizes.Add(new DiskSize(engine, Path.GetFileName(model), Size(model), "libonnxruntime.so + Microsoft.ML.OnnxRuntime.dll (plus a .NET runtime)", Size(ortNative) + Size(ortManaged)));
        }
        if (torch is not null)
        {
            var weights = Path.Combine(checkpoint, "model.safetensors");
            sizes.Add(new DiskSize("pytorch", "model.safetensors", Size(weights),
                $"the torch package ({torch.PackageBytes / 1e6:F0} MB) + shared libraries mapped after the first result ({torch.MappedLibraryBytes / 1e6:F0} MB, incl. libtorch, BLAS, Python)",
                torch.PackageBytes + torch.MappedLibraryBytes));
        }
        return sizes;
    }

    private TorchInfo? ReadTorchInfo()
    {
        _log.WriteLine("pytorch: versions, BLAS, install size");
        var run = ChildProcess.Run(_python, [TorchScript, "info", "--threads", Inv(_threads)], TorchEnvironment);
        if (run.ExitCode != 0)
            return null;
        using var doc = JsonDocument.Parse(run.Stdout);
        var r = doc.RootElement;
        return new TorchInfo(
            r.GetProperty("torch").GetString()!,
            string.Join(", ", r.GetProperty("blas").EnumerateArray().Select(x => x.GetString())),
            r.GetProperty("package_bytes").GetInt64(),
            r.GetProperty("mapped_library_bytes").GetInt64(),
            r.GetProperty("config").GetString()!);
    }

    /// <summary>Starts this benchmark program again as a child (apphost, or `dotnet X.dll` when launched that way).</summary>
    public static ChildRun RunSelf(IEnumerable<string> arguments, bool measureMemory = false, IReadOnlyDictionary<string, string>? environment = null)
    {
        var (fileName, all) = Self(arguments);
        return ChildProcess.Run(fileName, all, environment, measureMemory);
    }

    /// <summary>The command line that starts this program again with <paramref name="arguments"/>.</summary>
    public static (string FileName, string[] Arguments) Self(IEnumerable<string> arguments)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        return Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? (host, [Path.Combine(AppContext.BaseDirectory, "XlmEdge.Benchmarks.dll"), .. arguments])
            : (host, [.. arguments]);
    }

    private static long Size(string path) => File.Exists(path) ? new FileInfo(path).Length : -1;

    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}
