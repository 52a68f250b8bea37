using ILGPU;
using ILGPU.Runtime.Cuda;

namespace XlmEdge.Gpu;

/// <summary>Which GEMM runs the model's matrix products on the device.</summary>
internal enum DeviceGemmKind
{
    /// <summary>cuBLAS Sgemm on CUDA when libcublas loads, else the own kernel.</summary>
    Auto,
    /// <summary>The own kernel (<see cref="DeviceKernels.Linear{TW, TE}"/>) everywhere: tests and A/B runs.</summary>
    Kernel,
}

/// <summary>y[M, N] = x[M, K] W^T + bias, optionally followed by GELU, on the device.</summary>
internal interface IDeviceGemm<TW> : IDisposable where TW : unmanaged
{
    /// <summary>For people: which GEMM runs and on what weights.</summary>
    string Name { get; }

    void Linear(ArrayView<float> x, int m, DeviceMatrix<TW> w, ArrayView<float> bias, ArrayView<float> y, bool gelu);
}

/// <summary>The own GEMM kernel: reads the weights as stored (fp16 or fp32).</summary>
internal sealed class KernelGemm<TW, TE>(DeviceOps<TW, TE> ops) : IDeviceGemm<TW>
    where TW : unmanaged where TE : struct, IWeightElement<TW>
{
    public string Name => $"own kernel ({(typeof(TW) == typeof(float) ? "fp32" : "fp16")} weights)";

    public void Linear(ArrayView<float> x, int m, DeviceMatrix<TW> w, ArrayView<float> bias, ArrayView<float> y, bool gelu) =>
        ops.Linear(x, w.View, bias, y, m, w.Rows, w.Columns, gelu);

    public void Dispose()
    {
    }
}

/// <summary>
/// cuBLAS Sgemm through ILGPU.Algorithms, then the bias (and GELU) kernel. ILGPU.Algorithms binds
/// Sgemm (fp32) and Hgemm (fp16 in, fp16 out, fp16 accumulation) but not the mixed-precision
/// GemmEx, so the weights are widened to fp32 once at load: Hgemm's fp16 activations and sums would
/// miss the 1e-4 logit bound. Default math mode: no TF32 (its 10-bit mantissa would miss it too).
/// </summary>
internal sealed class CuBlasGemm(DeviceOps<float, SingleElement> ops, CuBlas blas) : IDeviceGemm<float>
{
    /// <summary>cuBLAS calls so far (each launches one or more kernels of its own).</summary>
    public long Launches { get; private set; }

    public string Name => $"cuBLAS Sgemm (fp32 weights, widened on the device; cuBLAS {blas.Version})";

    public void Linear(ArrayView<float> x, int m, DeviceMatrix<float> w, ArrayView<float> bias, ArrayView<float> y, bool gelu)
    {
        int n = w.Rows, k = w.Columns;
        // Row-major y[M, N] = x[M, K] W[N, K]^T is column-major y^T[N, M] = W^T' x^T with W read
        // column-major as [K, N] (so transposed) and x as [K, M].
        Launches++;
        blas.Gemm(CuBlasOperation.Transpose, CuBlasOperation.NonTranspose, n, m, k,
            1f, w.View, k, x, k, 0f, y, n);
        ops.BiasActivation(y, bias, m, n, gelu);
    }

    public void Dispose() => blas.Dispose();
}
