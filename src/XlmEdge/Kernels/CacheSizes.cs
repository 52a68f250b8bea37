using System.Globalization;
using System.Runtime.Intrinsics.X86;

namespace XlmEdge.Kernels;

/// <summary>
/// The per-core data caches of this machine, read once: Linux's <c>/sys/devices/system/cpu/cpu0/cache</c>
/// when it is there, else (x64, e.g. in VMs that hide it) the CPU's own cache descriptors through CPUID
/// (leaf 4 on Intel, 0x8000001D or the legacy 0x80000005/6 on AMD), else typical sizes. The kernels' tiles follow from them
/// (<see cref="Tiling{TS, TVec}"/>) instead of constants tuned on one CPU.
/// </summary>
internal static class CacheSizes
{
    private const int DefaultL1 = 32 * 1024, DefaultL2 = 512 * 1024;

    /// <summary>Level-1 data cache, bytes.</summary>
    public static int L1Data { get; }

    /// <summary>Level-2 cache, bytes (per core on the machines this targets).</summary>
    public static int L2 { get; }

    /// <summary>Where the sizes came from: "sysfs", "cpuid" or "default".</summary>
    public static string Source { get; }

    static CacheSizes()
    {
        (int l1, int l2, string source) = FromSysfs("/sys/devices/system/cpu/cpu0/cache") ?? FromCpuid() ?? (0, 0, "default");
        L1Data = l1 > 0 ? l1 : DefaultL1;
        L2 = l2 > 0 ? l2 : DefaultL2;
        Source = source;
    }

    /// <summary>Reads index*/{level,type,size}; null when the folder is missing or names no data cache.</summary>
    internal static (int L1, int L2, string Source)? FromSysfs(string folder)
    {
        if (!Directory.Exists(folder))
            return null;
        int l1 = 0, l2 = 0;
        try
        {
            foreach (var index in Directory.EnumerateDirectories(folder, "index*"))
            {
                string type = File.ReadAllText(Path.Combine(index, "type")).Trim();
                if (type is not ("Data" or "Unified"))
                    continue;
                int level = int.Parse(File.ReadAllText(Path.Combine(index, "level")).Trim(), CultureInfo.InvariantCulture);
                int size = ParseSize(File.ReadAllText(Path.Combine(index, "size")).Trim());
                if (level == 1)
                    l1 = size;
                else if (level == 2)
                    l2 = size;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
        return l1 > 0 ? (l1, l2, "sysfs") : null;
    }

    /// <summary>"48K", "1024K", "2M" or plain bytes.</summary>
    internal static int ParseSize(string text)
    {
        int scale = 1;
        if (text.EndsWith('K'))
            scale = 1024;
        else if (text.EndsWith('M'))
            scale = 1024 * 1024;
        if (scale != 1)
            text = text[..^1];
        return checked(int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture) * scale);
    }

    /// <summary>CPUID deterministic cache parameters (the same format in Intel's leaf 4 and AMD's 0x8000001D).</summary>
    private static (int L1, int L2, string Source)? FromCpuid()
    {
        if (!X86Base.IsSupported)
            return null;
        int maxBasic = X86Base.CpuId(0, 0).Eax;
        int maxExtended = X86Base.CpuId(unchecked((int)0x80000000), 0).Eax;
        foreach (int leaf in new[] { 4, unchecked((int)0x8000001D) })
        {
            bool available = leaf > 0 ? leaf <= maxBasic : (uint)leaf <= (uint)maxExtended;
            if (!available)
                continue;
            int l1 = 0, l2 = 0;
            for (int sub = 0; sub < 16; sub++)
            {
                var (eax, ebx, ecx, _) = X86Base.CpuId(leaf, sub);
                int type = eax & 0x1F; // 0 none (end), 1 data, 2 instruction, 3 unified
                if (type == 0)
                    break;
                if (type == 2)
                    continue;
                int level = (eax >> 5) & 0x7;
                long size = (long)(((ebx >> 22) & 0x3FF) + 1) * (((ebx >> 12) & 0x3FF) + 1) * ((ebx & 0xFFF) + 1) * ((long)(uint)ecx + 1);
                if (size > int.MaxValue)
                    continue;
                if (level == 1)
                    l1 = (int)size;
                else if (level == 2)
                    l2 = (int)size;
            }
            if (l1 > 0)
                return (l1, l2, "cpuid");
        }
        // The legacy AMD leaves (sizes in KB), which some hypervisors keep when they hide the others
        // (Firecracker on AMD EPYC answers 0x8000001D with zeros).
        if ((uint)maxExtended >= 0x80000006u)
        {
            int l1 = (int)((uint)X86Base.CpuId(unchecked((int)0x80000005), 0).Ecx >> 24) * 1024;
            int l2 = (int)((uint)X86Base.CpuId(unchecked((int)0x80000006), 0).Ecx >> 16) * 1024;
            if (l1 > 0)
                return (l1, l2, "cpuid");
        }
        return null;
    }
}
