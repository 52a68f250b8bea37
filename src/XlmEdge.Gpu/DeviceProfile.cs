using ILGPU.Runtime;

namespace XlmEdge.Gpu;

/// <summary>
/// Where a call's device time goes, phase by phase, from profiling markers (CUDA events) put on the
/// stream between phases. Only for benchmarks: the markers cost a few microseconds each.
/// </summary>
internal sealed class DeviceProfile(Accelerator accelerator)
{
    private readonly List<(string Phase, ProfilingMarker Marker)> _marks = [];
    private ProfilingMarker? _start;

    /// <summary>Device time per phase over every profiled call, and how many calls.</summary>
    public Dictionary<string, TimeSpan> Totals { get; } = [];

    public int Calls { get; private set; }

    public void Start() => _start = accelerator.AddProfilingMarker();

    /// <summary>The device work queued since the last mark belongs to <paramref name="phase"/>.</summary>
    public void Mark(string phase) => _marks.Add((phase, accelerator.AddProfilingMarker()));

    /// <summary>Waits for the call and adds its phase times.</summary>
    public void Finish()
    {
        accelerator.Synchronize();
        var previous = _start!;
        foreach (var (phase, marker) in _marks)
        {
            Totals[phase] = Totals.GetValueOrDefault(phase) + marker.MeasureFrom(previous);
            previous.Dispose();
            previous = marker;
        }
        previous.Dispose();
        _marks.Clear();
        Calls++;
    }

    public void Reset()
    {
        Totals.Clear();
        Calls = 0;
    }
}
