using System.Reflection;
using XlmEdge.Kernels;

namespace XlmEdge;

/// <summary>What the runtime is and does on this machine, for logs, bug reports and deployment checks.</summary>
public static class XlmRuntime
{
    /// <summary>
    /// The library version, e.g. <c>0.2.0</c>: the same string as <c>xlmedge --version</c> and the C
    /// library's <c>xlmedge_version()</c> (all set from the C header's <c>XLMEDGE_VERSION_*</c> macros).
    /// </summary>
    public static string Version { get; } =
        typeof(XlmRuntime).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(XlmRuntime).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>
    /// The kernels' SIMD path in this process: <c>"avx512"</c>, <c>"avx2+fma"</c>, <c>"advsimd"</c>,
    /// <c>"sse4.1"</c> or <c>"scalar"</c> (a width run in software says so, e.g. <c>"vector512 (software)"</c>).
    /// Chosen once per process from what the CPU and, for Native AOT binaries, the instruction-set baseline
    /// they were compiled for allow; the environment variable <c>XLMEDGE_SIMD</c> can force a narrower one.
    /// </summary>
    public static string SimdPath { get; } = CpuFeatures.Name(CpuFeatures.Selected);
}
