using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using DeviceHalf = ILGPU.Half;

namespace XlmEdge.Gpu.Tests;

/// <summary>
/// The ILGPU accelerator the tests run on: ILGPU's CPU accelerator by default (any machine, CI), or
/// CUDA when XLMEDGE_GPU_TESTS=cuda (src/XlmEdge.Gpu/device-check.sh sets it on a GPU machine).
/// </summary>
internal static class TestDevice
{
    public static bool IsCuda { get; } = Environment.GetEnvironmentVariable("XLMEDGE_GPU_TESTS") is "cuda";

    /// <summary>The backend the golden tests load models with.</summary>
    public static IlgpuBackend Backend => IsCuda ? IlgpuBackend.Cuda : IlgpuBackend.CpuAccelerator;

    public static XlmModel Load(string path) =>
        XlmModel.Load(path, new XlmModelOptions { Backend = XlmBackend.Cuda, BackendProvider = Backend });

    private static readonly Lazy<DeviceMemory> Shared = new(() => Backend.Open(out _));

    /// <summary>One accelerator for the op tests, opened once per run (tests that use it run one at a time).</summary>
    public static DeviceMemory Memory => Shared.Value;

    public static DeviceOps<DeviceHalf, HalfElement> HalfOps => HalfOpsLazy.Value;
    public static DeviceOps<float, SingleElement> SingleOps => SingleOpsLazy.Value;

    private static readonly Lazy<DeviceOps<DeviceHalf, HalfElement>> HalfOpsLazy = new(() => new(Memory.Accelerator));
    private static readonly Lazy<DeviceOps<float, SingleElement>> SingleOpsLazy = new(() => new(Memory.Accelerator));

    /// <summary>cuBLAS on the shared accelerator, when it is CUDA and libcublas loads.</summary>
    public static CuBlasGemm? CuBlas => CuBlasLazy.Value;

    private static readonly Lazy<CuBlasGemm?> CuBlasLazy = new(() =>
        Memory.Accelerator is CudaAccelerator cuda && IlgpuBackend.TryCreateCuBlas(cuda, out var blas, out _) ? new CuBlasGemm(SingleOps, blas) : null);

    /// <summary>Host data to a new device buffer (freed with the shared accelerator).</summary>
    public static ArrayView<T> Upload<T>(T[] data) where T : unmanaged
    {
        var buffer = Memory.Allocate<T>(Math.Max(1, data.Length), "test data");
        if (data.Length > 0)
            buffer.View.SubView(0, data.Length).CopyFromCPU(data);
        return buffer.View.SubView(0, Math.Max(1, data.Length));
    }

    public static T[] Download<T>(ArrayView<T> view, int count) where T : unmanaged
    {
        var data = new T[count];
        view.SubView(0, count).CopyToCPU(data);
        return data;
    }
}

/// <summary>The tests that share the device run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DeviceCollection
{
    public const string Name = "device";
}
