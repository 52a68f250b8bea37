using System.Globalization;
using System.Runtime.InteropServices;

namespace XlmEdge.Weights;

/// <summary>
/// Keeps a mapped model file resident: <c>mlock</c> on Linux and macOS, <c>VirtualLock</c> on Windows. The
/// weights are mapped from the file, so under memory pressure the kernel may drop their pages, and the
/// next call then waits on reading them back from disk (major page faults), as llama.cpp's <c>--mlock</c>
/// guards against. Locked pages are read once, at load, and stay until the mapping is closed (unmapping
/// unlocks them). On the benchmark VM, which has memory to spare, locking changed nothing measurable.
/// </summary>
internal static unsafe class MemoryLock
{
    /// <summary>Locks [address, address + length) in RAM or throws <see cref="MemoryLockException"/> naming the limit to raise.</summary>
    public static void Lock(byte* address, long length, string what)
    {
        if (OperatingSystem.IsWindows())
        {
            if (VirtualLock(address, (nuint)length) == 0)
                throw Failed(what, length, $"VirtualLock failed with error {Marshal.GetLastPInvokeError()}: the process working set must be able to hold it (SetProcessWorkingSetSize)");
            return;
        }
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD()))
            throw Failed(what, length, "this operating system has no mlock that XlmEdge knows");
        if (mlock(address, (nuint)length) != 0)
            throw Failed(what, length, Explain(Marshal.GetLastPInvokeError()));
    }

    /// <summary>Why mlock failed, and what to do about it (errno values of Linux, which macOS shares for these).</summary>
    internal static string Explain(int errno) => errno switch
    {
        1 => "mlock failed with EPERM: this process may not lock memory (it needs CAP_IPC_LOCK, or a RLIMIT_MEMLOCK above the model's size)",
        11 => "mlock failed with EAGAIN: some of the pages could not be locked",
        12 => "mlock failed with ENOMEM: the model is larger than this process may lock (RLIMIT_MEMLOCK; raise it with `ulimit -l`, LimitMEMLOCK= in a systemd unit, or memlock in /etc/security/limits.conf) or than free RAM",
        _ => string.Create(CultureInfo.InvariantCulture, $"mlock failed with errno {errno}"),
    };

    private static MemoryLockException Failed(string what, long length, string why) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{what}: cannot lock the {length / (1024.0 * 1024.0):0.0} MiB model in memory: {why}"));

    // DllImport rather than LibraryImport: the signatures are blittable (no marshalling stub either way), and
    // the generator tests compile this library's sources without the LibraryImport source generator.
    [DllImport("libc", SetLastError = true)]
    private static extern int mlock(void* address, nuint length);

    [DllImport("kernel32", SetLastError = true)]
    private static extern int VirtualLock(void* address, nuint size);
}
