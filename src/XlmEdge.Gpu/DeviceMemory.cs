using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace XlmEdge.Gpu;

/// <summary>
/// The ILGPU context and accelerator of one model, and its memory accounting: every allocation is
/// checked against the free device memory first, so running out names what needed the memory, how
/// much, and how much was free (<see cref="DeviceOutOfMemoryException"/>), instead of a driver error.
/// </summary>
internal sealed class DeviceMemory(Context context, Accelerator accelerator, long? limit) : IDisposable
{
    private long _allocated;

    public Context Context { get; } = context;

    public Accelerator Accelerator { get; } = accelerator;

    /// <summary>
    /// Free device bytes: what CUDA reports, within the optional limit (tests set one to exercise
    /// the out-of-memory paths on the CPU accelerator, whose memory is the host's).
    /// </summary>
    public long FreeBytes
    {
        get
        {
            long free = Accelerator is CudaAccelerator cuda ? cuda.GetFreeMemory() : long.MaxValue;
            return limit is long l ? Math.Min(free, Math.Max(0, l - _allocated)) : free;
        }
    }

    /// <summary>Throws <see cref="DeviceOutOfMemoryException"/> unless <paramref name="bytes"/> are free.</summary>
    public void EnsureFree(string what, long bytes)
    {
        long free = FreeBytes;
        if (bytes > free)
            throw new DeviceOutOfMemoryException(what, bytes, free);
    }

    /// <summary>A device buffer of <paramref name="count"/> elements; <paramref name="what"/> names it if the device refuses.</summary>
    public MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(long count, string what) where T : unmanaged
    {
        long bytes = count * Marshal.SizeOf<T>();
        EnsureFree(what, bytes);
        try
        {
            var buffer = Accelerator.Allocate1D<T>(count);
            _allocated += bytes;
            return buffer;
        }
        catch (Exception e) when (e is CudaException or OutOfMemoryException)
        {
            // free memory can shrink between the check and the allocation (other processes)
            throw new DeviceOutOfMemoryException(what, bytes, FreeBytes, e);
        }
    }

    /// <summary>Returns a buffer from <see cref="Allocate{T}"/>.</summary>
    public void Free<T>(MemoryBuffer1D<T, Stride1D.Dense>? buffer) where T : unmanaged
    {
        if (buffer is null)
            return;
        _allocated -= buffer.LengthInBytes;
        buffer.Dispose();
    }

    public void Dispose()
    {
        Accelerator.Dispose();
        Context.Dispose();
    }
}
