using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using XlmEdge.Model;
using DeviceHalf = ILGPU.Half;

namespace XlmEdge.Gpu;

/// <summary>
/// The GPU backend of XlmEdge, through ILGPU: pass <see cref="Cuda"/> as
/// <see cref="XlmModelOptions.BackendProvider"/> with <see cref="XlmBackend.Cuda"/> or
/// <see cref="XlmBackend.Auto"/>. JIT-hosted apps only: ILGPU compiles its kernels from IL at run
/// time, which Native AOT cannot do.
/// </summary>
/// <example>
/// <code>
/// using var model = XlmModel.Load("enfr.gguf", new XlmModelOptions
/// {
///     Backend = XlmBackend.Auto,              // the GPU if there is one, else the CPU
///     BackendProvider = IlgpuBackend.Cuda,
/// });
/// Console.WriteLine(model.BackendDescription);
/// </code>
/// </example>
/// <remarks>
/// On the device: the weights are uploaded once when the model loads; a call uploads its ids, runs
/// every layer on the device with the activations staying there, and copies back only the logits
/// at the masks (or the hidden states asked for). The matrix products run on cuBLAS Sgemm when
/// libcublas.so.12 (or .11) loads, with the weights widened to fp32 on the device; otherwise on
/// XlmEdge's own kernel over the fp16 weights. <see cref="XlmModel.BackendDescription"/> says which.
/// Each model holds its own device context; calls on one model are serialised, as on the CPU.
/// </remarks>
public sealed class IlgpuBackend : XlmBackendProvider
{
    private readonly bool _cpuAccelerator;
    private readonly DeviceGemmKind _gemm;
    private readonly long? _memoryLimit;
    private readonly bool _profile;

    /// <summary>A provider for tests and benchmarks: the GEMM forced, a memory limit, device-time profiling.</summary>
    internal IlgpuBackend(bool cpuAccelerator, DeviceGemmKind gemm = DeviceGemmKind.Auto, long? memoryLimit = null, bool profile = false)
    {
        _cpuAccelerator = cpuAccelerator;
        _gemm = gemm;
        _memoryLimit = memoryLimit;
        _profile = profile;
    }

    /// <summary>The first NVIDIA GPU that ILGPU supports (the one with the most memory if there are several).</summary>
    public static IlgpuBackend Cuda { get; } = new(cpuAccelerator: false);

    /// <summary>
    /// ILGPU's CPU accelerator standing in for a GPU: the same kernels, run on the CPU by threads that
    /// simulate a GPU's. Slow; for testing the GPU code path on machines without a GPU.
    /// </summary>
    public static IlgpuBackend CpuAccelerator { get; } = new(cpuAccelerator: true);

    /// <inheritdoc/>
    public override string Name => _cpuAccelerator ? "ILGPU CPU accelerator" : "ILGPU CUDA";

    /// <summary>
    /// Whether ILGPU finds a CUDA device it supports on this machine (a GPU and its driver,
    /// libcuda.so); when not, <paramref name="why"/> says what is missing.
    /// </summary>
    public static bool IsCudaAvailable(out string why)
    {
        try
        {
            using var context = CreateCudaContext(profile: false);
            _ = PickCudaDevice(context);
            why = "";
            return true;
        }
        catch (BackendUnavailableException e)
        {
            why = e.Message;
            return false;
        }
    }

    internal override IEncoderBackend Create(XlmGeometry geometry, XlmWeights weights)
    {
        var memory = Open(out string device);
        try
        {
            return CreateEncoder(memory, geometry, weights, device);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    /// <summary>Creates the ILGPU context and accelerator this provider stands for; <paramref name="device"/> describes it.</summary>
    internal DeviceMemory Open(out string device)
    {
        var context = _cpuAccelerator ? CreateCpuContext(_profile) : CreateCudaContext(_profile);
        try
        {
            Accelerator accelerator;
            if (_cpuAccelerator)
            {
                accelerator = context.CreateCPUAccelerator(0, CPUAcceleratorMode.Parallel);
                device = $"ilgpu-cpu: ILGPU CPU accelerator ({accelerator.MaxNumThreadsPerGroup} threads per group, simulated)";
            }
            else
            {
                var cuda = PickCudaDevice(context);
                accelerator = OpenCuda(context, cuda);
                device = $"cuda: {cuda.Name} (sm_{cuda.Architecture?.Major}{cuda.Architecture?.Minor}, {cuda.NumMultiprocessors} SMs, "
                    + $"{cuda.MemorySize / (1024.0 * 1024 * 1024):0.0} GiB, driver {cuda.DriverVersion})";
            }
            return new DeviceMemory(context, accelerator, _memoryLimit);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    private IDeviceEncoder CreateEncoder(DeviceMemory memory, XlmGeometry geometry, XlmWeights weights, string device)
    {
        var encoder = CreateEncoderFor(memory, geometry, weights, device);
        if (_profile)
            encoder.Profile = new DeviceProfile(memory.Accelerator);
        return encoder;
    }

    private IDeviceEncoder CreateEncoderFor(DeviceMemory memory, XlmGeometry geometry, XlmWeights weights, string device)
    {
        string? note = null;
        if (_gemm == DeviceGemmKind.Auto && memory.Accelerator is CudaAccelerator cuda)
        {
            if (TryCreateCuBlas(cuda, out var blas, out note))
            {
                var ops = new DeviceOps<float, SingleElement>(memory.Accelerator);
                try
                {
                    var deviceWeights = DeviceWeights<float>.Upload(memory, weights, ops.Widen);
                    return new DeviceEncoder<float, SingleElement>(geometry, memory, ops, new CuBlasGemm(ops, blas), deviceWeights, device);
                }
                catch
                {
                    blas.Dispose();
                    throw;
                }
            }
        }
        if (note is not null)
            device += $"; {note}";
        // fp16 weights stay fp16 for the own kernel; a file with fp32 matrices runs in fp32
        if (DeviceWeights<DeviceHalf>.AllHalf(weights))
        {
            var ops = new DeviceOps<DeviceHalf, HalfElement>(memory.Accelerator);
            var deviceWeights = DeviceWeights<DeviceHalf>.Upload(memory, weights, widen: null);
            return new DeviceEncoder<DeviceHalf, HalfElement>(geometry, memory, ops, new KernelGemm<DeviceHalf, HalfElement>(ops), deviceWeights, device);
        }
        else
        {
            var ops = new DeviceOps<float, SingleElement>(memory.Accelerator);
            var deviceWeights = DeviceWeights<float>.Upload(memory, weights, ops.Widen);
            return new DeviceEncoder<float, SingleElement>(geometry, memory, ops, new KernelGemm<float, SingleElement>(ops), deviceWeights, device);
        }
    }

    /// <summary>cuBLAS is a CUDA toolkit library, not part of the driver: a machine may lack it.</summary>
    internal static bool TryCreateCuBlas(CudaAccelerator accelerator, out CuBlas blas, out string? note)
    {
        try
        {
            blas = new CuBlas(accelerator);
            note = null;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or CuBlasException or CudaException)
        {
            blas = null!;
            note = $"cuBLAS unavailable ({e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")})";
            return false;
        }
    }

    private static Context CreateCpuContext(bool profile) =>
        // Warps of two threads, two warps a group, one group at a time: the CPU accelerator runs each
        // simulated thread on an OS thread and synchronises them at every shuffle and barrier, so
        // few threads keep the tests fast (a warp reduction took 0.15 ms with two lanes, 0.9 ms with
        // four, on this project's loaded 2-core machine) while lanes, warps and strides still work
        // as on a GPU.
        Context.Create(builder => Configure(builder.CPU(new CPUDevice(numThreadsPerWarp: 2, numWarpsPerMultiprocessor: 2, numMultiprocessors: 1)), profile));

    private static Context CreateCudaContext(bool profile)
    {
        LibCudaResolver.Register();
        try
        {
            // every CUDA device, so that one ILGPU does not support can be named rather than hidden
            return Context.Create(builder => Configure(builder.Cuda(_ => true), profile));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new BackendUnavailableException($"no CUDA device: the CUDA driver could not be initialised ({e.Message.ReplaceLineEndings(" ")})", e);
        }
    }

    private static Context.Builder Configure(Context.Builder builder, bool profile)
    {
        builder.EnableAlgorithms().Optimize(OptimizationLevel.O2);
        return profile ? builder.Profiling() : builder;
    }

    private static CudaDevice PickCudaDevice(Context context)
    {
        var devices = context.GetCudaDevices();
        if (devices.Count == 0)
            throw new BackendUnavailableException("no CUDA device: ILGPU found no NVIDIA GPU or no CUDA driver (libcuda.so) on this machine");
        CudaDevice? best = null;
        var unsupported = new List<string>();
        foreach (var device in devices)
        {
            if (device.Architecture is null || device.InstructionSet is null)
            {
                unsupported.Add($"{device.Name} (compute capability {device.Architecture?.ToString() ?? "unknown"}, driver {device.DriverVersion})");
                continue;
            }
            if (best is null || device.MemorySize > best.MemorySize)
                best = device;
        }
        return best ?? throw new BackendUnavailableException(
            $"no CUDA device that ILGPU 1.5.3 supports: {string.Join(", ", unsupported)}");
    }

    private static CudaAccelerator OpenCuda(Context context, CudaDevice device)
    {
        try
        {
            return device.CreateCudaAccelerator(context);
        }
        catch (CudaException e)
        {
            throw new BackendUnavailableException($"CUDA device {device.Name} could not be opened: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }
}

/// <summary>
/// ILGPU imports the CUDA driver as "cuda", which .NET probes as libcuda.so, the unversioned name
/// that only CUDA development packages install; a machine with just the driver (and containers with
/// the NVIDIA runtime) has libcuda.so.1. When the probe fails, load that instead.
/// </summary>
internal static class LibCudaResolver
{
    private static int _registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
            System.Runtime.Loader.AssemblyLoadContext.Default.ResolvingUnmanagedDll += (_, name) =>
                name == "cuda" && System.Runtime.InteropServices.NativeLibrary.TryLoad("libcuda.so.1", out var handle) ? handle : IntPtr.Zero;
    }
}
