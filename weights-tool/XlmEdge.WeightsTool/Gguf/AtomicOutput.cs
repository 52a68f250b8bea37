using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace XlmEdge.WeightsTool.Gguf;

/// <summary>
/// The output file written atomically: into a temporary file in the destination's folder, then
/// renamed over the destination, so the destination is never written in place. A process that
/// has the old file mapped keeps reading the old bytes (the rename gives the path a new inode),
/// and no reader ever sees a half-written file.
/// </summary>
/// <remarks>
/// The temporary file is held with an exclusive lock (FileShare.None, which .NET takes as an
/// advisory flock on Unix) while it is written. It is removed when packing fails, and on SIGINT,
/// SIGTERM and SIGHUP. A pack killed with SIGKILL cannot clean up; its lock dies with it, so the
/// next pack into the same folder removes temporaries of this naming pattern that nobody holds.
/// </remarks>
internal sealed partial class AtomicOutput : IDisposable
{
    private const string Suffix = ".xlmedge-pack.tmp";

    private readonly string _destination;
    private readonly List<PosixSignalRegistration> _signals = [];
    private bool _committed;

    /// <summary>The stream to write; readable and seekable, so the content hash can be computed from it.</summary>
    public FileStream Stream { get; }

    /// <summary>The temporary file's path (a hidden file next to the destination).</summary>
    public string TemporaryPath { get; }

    private AtomicOutput(string destination)
    {
        _destination = destination;
        string folder = Path.GetDirectoryName(destination)!;
        TemporaryPath = Path.Combine(folder, "." + Path.GetFileName(destination) + "." + Guid.NewGuid().ToString("N")[..12] + Suffix);
        // Handlers first, so that no moment exists in which the file is there and a signal would leave it.
        try
        {
            foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP })
                _signals.Add(PosixSignalRegistration.Create(signal, OnSignal));
        }
        catch (PlatformNotSupportedException)
        {
            // Windows has no SIGHUP; a failed or interrupted pack still leaves only a temporary that the next pack removes.
        }
        try
        {
            Stream = new FileStream(TemporaryPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        }
        catch
        {
            foreach (var registration in _signals)
                registration.Dispose();
            throw;
        }
    }

    /// <summary>Creates the temporary file for <paramref name="destination"/> (a full path).</summary>
    public static AtomicOutput Create(string destination) => new(destination);

    /// <summary>
    /// Removes temporaries of this naming pattern in <paramref name="folder"/> that no running pack
    /// holds (left by a pack that was killed), and says which.
    /// </summary>
    public static void RemoveStale(string folder, Action<string> note)
    {
        foreach (var path in Directory.EnumerateFiles(folder, "*" + Suffix))
        {
            if (!StaleName().IsMatch(Path.GetFileName(path)))
                continue;
            try
            {
                // Opening fails while the writing pack holds its lock.
                using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                    File.Delete(path);
                note($"note: removed {Path.GetFileName(path)}, left by an interrupted pack");
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>Flushes the temporary file to disk and renames it over the destination.</summary>
    public void Commit()
    {
        Stream.Flush(flushToDisk: true);
        Stream.Dispose();
        File.Move(TemporaryPath, _destination, overwrite: true);
        _committed = true;
    }

    /// <summary>Removes the temporary file unless it was committed.</summary>
    public void Dispose()
    {
        foreach (var signal in _signals)
            signal.Dispose();
        Stream.Dispose();
        if (!_committed)
            File.Delete(TemporaryPath);
    }

    private void OnSignal(PosixSignalContext context)
    {
        // Unlinking a file that is still open is fine on Unix; the default action (ending the
        // process) follows, since the context is not cancelled.
        if (!_committed)
            File.Delete(TemporaryPath);
    }

    [GeneratedRegex(@"^\..+\.[0-9a-f]{12}\.xlmedge-pack\.tmp$")]
    private static partial Regex StaleName();
}
