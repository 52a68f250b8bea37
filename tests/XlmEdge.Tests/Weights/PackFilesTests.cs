using System.Diagnostics;
using System.Runtime.InteropServices;
using XlmEdge.Weights;

namespace XlmEdge.Tests.Weights;

/// <summary>
/// What pack reads and what it writes over: only regular input files, capped JSON, no output over
/// a device or its own input, no leftovers, and a file that stays valid for whoever has it mapped.
/// </summary>
public class PackFilesTests
{
    private static void MakeFifo(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("mkfifo", [path]))!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    /// <summary>Runs pack in-process, failing the test (rather than hanging it) if pack blocks.</summary>
    private static WeightsTool.Result PackWithin(string dir, string output, int seconds = 60)
    {
        var run = Task.Run(() => WeightsTool.Run("pack", dir, "-o", output));
        Assert.True(run.Wait(TimeSpan.FromSeconds(seconds)), $"pack did not finish within {seconds} s");
        return run.Result;
    }

    [Theory]
    [InlineData("model.safetensors")]
    [InlineData("config.json")]
    [InlineData("vocab.json")]
    [InlineData("merges.txt")]
    [InlineData("tokenizer_config.json")]
    public void AFifoInTheCheckpointIsRefusedWithoutBlocking(string name)
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        File.Delete(Path.Combine(dir, name));
        MakeFifo(Path.Combine(dir, name));
        var error = PackWithin(dir, tmp.File("x.gguf")).SingleError();
        Assert.Contains($"{name} is a FIFO, a device or a socket, not a regular file", error);
        Assert.False(File.Exists(tmp.File("x.gguf")));
    }

    [Theory]
    [InlineData("config.json", "/dev/zero")]
    [InlineData("vocab.json", "/dev/urandom")]
    [InlineData("model.safetensors", "/dev/zero")]
    public void ADeviceInTheCheckpointIsRefusedAtOnce(string name, string device)
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        File.Delete(Path.Combine(dir, name));
        File.CreateSymbolicLink(Path.Combine(dir, name), device);
        Assert.Contains("not a regular file", PackWithin(dir, tmp.File("x.gguf"), seconds: 10).SingleError());
    }

    [Theory]
    [InlineData("config.json", 16 << 20)]
    [InlineData("vocab.json", 256 << 20)]
    public void JsonFilesAreCappedByWhatIsRead(string name, int cap)
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        using (var f = File.Create(Path.Combine(dir, name)))
        {
            f.Write("{\"pad\": \""u8);
            f.SetLength(cap + 1);
        }
        Assert.Contains($"{name}: more than {cap} bytes", PackWithin(dir, tmp.File("x.gguf")).SingleError());
    }

    [Fact]
    public void OutputOverAFifoIsRefusedAndTheFifoStays()
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        MakeFifo(tmp.File("out.gguf"));
        File.CreateSymbolicLink(tmp.File("link.gguf"), tmp.File("out.gguf"));
        foreach (var output in new[] { "out.gguf", "link.gguf" })
            Assert.Contains("is a device, FIFO or socket", PackWithin(dir, tmp.File(output)).SingleError());
        Assert.True(XlmEdge.WeightsTool.Checkpoints.InputFiles.IsSpecialFile(tmp.File("out.gguf")), "the FIFO was replaced");
        Assert.Null(new FileInfo(tmp.File("out.gguf")).LinkTarget);
        Assert.Equal(2, Directory.GetFiles(tmp.Path).Length);
    }

    [Theory]
    [InlineData("model.safetensors")]
    [InlineData("config.json")]
    [InlineData("merges.txt")]
    public void OutputOverTheCheckpointsOwnFileIsRefused(string name)
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        var input = Path.Combine(dir, name);
        var before = File.ReadAllBytes(input);
        Assert.Contains($"is the checkpoint's {name}", PackWithin(dir, input).SingleError());
        // the same file under another name: a symbolic link and a hard link outside the folder
        File.CreateSymbolicLink(tmp.File("symlink.gguf"), input);
        Assert.Contains($"is the checkpoint's {name}", PackWithin(dir, tmp.File("symlink.gguf")).SingleError());
        using (var ln = Process.Start(new ProcessStartInfo("ln", [input, tmp.File("hardlink.gguf")]))!)
            ln.WaitForExit();
        Assert.Contains($"is the checkpoint's {name}", PackWithin(dir, tmp.File("hardlink.gguf")).SingleError());
        Assert.Equal(before, File.ReadAllBytes(input));
    }

    [Fact]
    public void OutputThroughASymbolicLinkReplacesTheLinksTarget()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("real.gguf"), "old");
        File.CreateSymbolicLink(tmp.File("link.gguf"), tmp.File("real.gguf"));
        WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors"), tmp.File("link.gguf"));
        Assert.Equal(tmp.File("real.gguf"), new FileInfo(tmp.File("link.gguf")).LinkTarget);
        using var file = GgufFile.Open(tmp.File("real.gguf"));
        Assert.True(file.VerifyContentHash(out _));
    }

    [Fact]
    public void PackingOverAMappedFileLeavesTheMappingItsOldBytes()
    {
        using var tmp = new TempDir();
        var output = WeightsTool.Pack(tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors"), tmp.File("model.gguf"));
        using var mapped = GgufFile.Open(output);
        using var model = XlmModel.Load(output, new XlmModelOptions { Threads = 1 });
        var before = model.FillMask("the <special1> .", "en").Masks[0].Candidates[0];
        WeightsTool.Pack(tmp.Checkpoint(Path.Combine(Fixtures.Root, "other-geometry"), "model.safetensors"), output);
        // the path now names another model; what was mapped is unchanged and still works
        Assert.True(mapped.VerifyContentHash(out _));
        Assert.Equal(before, model.FillMask("the <special1> .", "en").Masks[0].Candidates[0]);
        using var replaced = GgufFile.Open(output);
        Assert.NotEqual(mapped.ContentHash, replaced.ContentHash);
    }

    [Fact]
    public void AStaleTemporaryIsRemovedAndOneInUseIsKept()
    {
        using var tmp = new TempDir();
        var stale = tmp.File(".model.gguf.0123456789ab.xlmedge-pack.tmp");
        var inUse = tmp.File(".other.gguf.ba9876543210.xlmedge-pack.tmp");
        var unrelated = tmp.File(".model.gguf.0123456789ab.tmp");
        File.WriteAllText(stale, "left by a killed pack");
        File.WriteAllText(unrelated, "not ours");
        File.WriteAllText(inUse, "being written");
        using (new FileStream(inUse, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            var r = WeightsTool.Run("pack", tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors"), "-o", tmp.File("model.gguf"));
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("removed .model.gguf.0123456789ab.xlmedge-pack.tmp", r.Stderr);
        }
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(inUse));
        Assert.True(File.Exists(unrelated));
    }

    [Fact]
    public void AFailureAfterNotesIsStillOneStderrLine()
    {
        using var tmp = new TempDir();
        var dir = tmp.Checkpoint(Fixtures.TinyEnfr, "model.safetensors");
        var path = Path.Combine(dir, "model.safetensors");
        var tensors = TestSafetensors.Read(path);
        tensors["transformer.position_ids"] = new SafetensorsEntry("I64", [1, 512], new byte[512 * 8]);   // gives a note
        var bias = tensors["pred_layer.proj.bias"].ToFloats();
        bias[^1] = float.NaN;                                                                          // fails while writing
        tensors["pred_layer.proj.bias"] = SafetensorsEntry.FromFloats(tensors["pred_layer.proj.bias"].Shape, bias);
        TestSafetensors.Write(path, tensors);
        var r = WeightsTool.Run("pack", dir, "-o", tmp.File("x.gguf"));
        Assert.Contains("pred_layer.proj.bias", r.SingleError());
        Assert.Empty(Directory.GetFiles(tmp.Path));
    }
}

/// <summary>
/// SIGINT and SIGTERM in the middle of a real pack (a separate process, a checkpoint large enough
/// to be caught mid-write) leave neither the temporary file nor an output.
/// </summary>
public class PackSignalTests : IClassFixture<PackSignalTests.LargeCheckpoint>
{
    private readonly LargeCheckpoint _checkpoint;

    public PackSignalTests(LargeCheckpoint checkpoint) => _checkpoint = checkpoint;

    /// <summary>About 50 MB of F32 weights (25 MB packed): tens of milliseconds of writing on a fast machine.</summary>
    public sealed class LargeCheckpoint : IDisposable
    {
        private readonly TempDir _folder = new();

        public string Path { get; }

        public LargeCheckpoint() => Path = MiniCheckpoint.Create(_folder.Path,
            new XlmGeometry(48_000, 256, layers: 2, heads: 4, languageCount: 2, useLanguageEmbeddings: true, 512, 1e-12f, isCausal: false), "large-xlm");

        public void Dispose() => _folder.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [Theory]
    [InlineData(2)]   // SIGINT
    [InlineData(15)]  // SIGTERM
    [InlineData(1)]   // SIGHUP
    public async Task ASignalMidPackLeavesNothingBehind(int signal)
    {
        const int SigStop = 19, SigCont = 18;
        using var tmp = new TempDir();
        string dll = typeof(XlmEdge.WeightsTool.Program).Assembly.Location;
        // The pack starts with the signals at their default action: a test runner started in the
        // background (`cmd &`, nohup) ignores SIGINT/SIGHUP, the child inherits that, and the pack then
        // rightly completes (seen: "pack exited 0 after the signal" only in background runs).
        var start = new ProcessStartInfo("env", ["--default-signal=HUP,INT,TERM", "dotnet", dll, "pack", _checkpoint.Path, "-o", tmp.File("out.gguf")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(start)!;
        var stderr = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        // Catch the pack while its temporary exists: stop it there, queue the signal, let it go on.
        var watch = Stopwatch.StartNew();
        bool caught = false;
        while (!p.HasExited && watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (Directory.GetFiles(tmp.Path, "*.xlmedge-pack.tmp").Length > 0)
            {
                Kill(p.Id, SigStop);
                caught = !File.Exists(tmp.File("out.gguf"));
                Kill(p.Id, signal);
                Kill(p.Id, SigCont);
                break;
            }
            Thread.Sleep(1);
        }
        Assert.True(p.WaitForExit(60_000), "pack did not end after the signal");
        Assert.True(caught, $"the pack was not caught while writing (exit {p.ExitCode}: {await stderr})");
        Assert.True(p.ExitCode != 0, $"pack exited 0 after the signal: {await stderr}");
        Assert.True(Directory.GetFiles(tmp.Path).Length == 0,
            $"left behind: {string.Join(", ", Directory.GetFiles(tmp.Path).Select(System.IO.Path.GetFileName))} (exit {p.ExitCode}: {await stderr})");
    }
}
