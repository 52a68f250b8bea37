using XlmEdge.Model;

namespace XlmEdge;

/// <summary>Where a model's forward pass runs (<see cref="XlmModelOptions.Backend"/>).</summary>
public enum XlmBackend
{
    /// <summary>The CPU kernels (SIMD, every thread of <see cref="XlmModelOptions.Threads"/>). The default.</summary>
    Cpu,
    /// <summary>
    /// An NVIDIA GPU through <see cref="XlmModelOptions.BackendProvider"/> (the XlmEdge.Gpu package).
    /// Loading fails with <see cref="BackendUnavailableException"/> when there is no provider or no CUDA device.
    /// </summary>
    Cuda,
    /// <summary>The GPU when the provider finds one, else the CPU; <see cref="XlmModel.BackendDescription"/> says which and why.</summary>
    Auto,
}

/// <summary>
/// A source of device backends for <see cref="XlmModel"/>. The runtime library never references a
/// GPU library: a JIT-hosted app passes an instance (XlmEdge.Gpu's <c>IlgpuBackend.Cuda</c>) in
/// <see cref="XlmModelOptions.BackendProvider"/>, so Native AOT and trimmed outputs that do not
/// pass one contain no GPU code, and nothing is found by reflection.
/// </summary>
/// <remarks>
/// Implemented only by XlmEdge.Gpu, a part of this runtime split into its own assembly because
/// ILGPU compiles kernels from IL at run time and so cannot run under Native AOT. The two are
/// built and versioned together; the device backend binds the model's weights through
/// internal types, so other assemblies cannot derive from this class.
/// </remarks>
public abstract class XlmBackendProvider
{
    /// <summary>Only XlmEdge.Gpu derives from this class.</summary>
    internal XlmBackendProvider()
    {
    }

    /// <summary>What the provider runs on, e.g. "ILGPU CUDA".</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Uploads the model to a device and returns the encoder that runs on it.
    /// </summary>
    /// <exception cref="BackendUnavailableException">No device of the kind exists.</exception>
    /// <exception cref="DeviceOutOfMemoryException">The device lacks the memory for the weights.</exception>
    internal abstract IEncoderBackend Create(XlmGeometry geometry, XlmWeights weights);
}
