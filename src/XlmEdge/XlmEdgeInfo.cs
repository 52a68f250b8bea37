using System.Reflection;
using XlmEdge.Kernels;

namespace XlmEdge;

/// <summary>Facts about this build of XlmEdge and the kernels it runs on this machine.</summary>
public static class XlmEdgeInfo
{
    /// <summary>
    /// The library version, e.g. <c>0.2.0</c>: the same string as <c>xlmedge --version</c> and the C
    /// library's <c>xlmedge_version()</c> (all set from the C header's <c>XLMEDGE_VERSION_*</c> macros).
    /// </summary>
    public static string Version { get; } =
        typeof(XlmEdgeInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(XlmEdgeInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>
    /// The kernel path chosen once for this process: <c>avx512</c>, <c>avx2+fma</c>, <c>advsimd</c>,
    /// <c>sse4.1</c> or <c>scalar</c> (a forced width without hardware support says so, e.g.
    /// <c>vector512 (software)</c>). The environment variable <c>XLMEDGE_SIMD</c> forces a width.
    /// </summary>
    public static string SimdPath { get; } = CpuFeatures.Name(CpuFeatures.Selected);
}
