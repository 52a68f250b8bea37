using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace XlmEdge.Benchmarks;

/// <summary>
/// Which of XlmEdge's kernels ran in this process, as the runtime itself reports it: the JIT announces
/// every method it compiles (the runtime's JIT events, keyword 0x10), and a kernel is compiled the first
/// time it runs, so the kernel methods (micro-kernels and the single-panel kernel of
/// <c>XlmEdge.Kernels</c>) compiled during a sweep are the ones that ran. Generic arguments are not in
/// the events; the SIMD path (one per process) says which width they ran at.
/// </summary>
internal sealed class KernelsThatRan : EventListener
{
    private const EventKeywords Jit = (EventKeywords)0x10;
    private readonly ConcurrentDictionary<string, byte> _names = new();

    /// <summary>"Type.Method" of every kernel compiled so far, sorted.</summary>
    public IReadOnlyList<string> Names => [.. _names.Keys.Order(StringComparer.Ordinal)];

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, EventLevel.Verbose, Jit);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is not "MethodLoadVerbose_V2" and not "MethodLoadVerbose_V1" || e.PayloadNames is null || e.Payload is null)
            return;
        string? type = null, method = null;
        for (int i = 0; i < e.PayloadNames.Count; i++)
        {
            if (e.PayloadNames[i] == "MethodNamespace")
                type = e.Payload[i] as string;
            else if (e.PayloadNames[i] == "MethodName")
                method = e.Payload[i] as string;
        }
        if (type is not null && method is not null && type.StartsWith("XlmEdge.Kernels.", StringComparison.Ordinal)
            && method.Contains("Kernel", StringComparison.Ordinal))
            _names.TryAdd($"{type["XlmEdge.Kernels.".Length..]}.{method}", 0);
    }
}
