using XlmEdge.Model;
using XlmEdge.Weights;

namespace XlmEdge.WeightsTool.Commands;

/// <summary>
/// verify FILE: opens the file as loading does (the GGUF reader's structural checks, then the
/// one model validation and the binding of every tensor, <see cref="ModelFile.Open"/>, and the CPU
/// backend's scan of the fp16 panel matrices for infinity and NaN, <see cref="XlmWeights.RequireFinitePanels"/>),
/// then recomputes the content hash, which loading skips. So verify succeeds exactly on the files that
/// load and whose bytes are as packed.
/// </summary>
internal static class VerifyCommand
{
    public static int Run(string path, TextWriter stdout)
    {
        using var file = GgufFile.Open(path);
        try
        {
            var (_, _, weights) = ModelFile.Open(file);
            using var pool = new XlmEdge.Kernels.WorkerPool(Environment.ProcessorCount);
            weights.RequireFinitePanels(pool);
        }
        catch (ModelFileException e)
        {
            throw new ModelFileException($"{path}: {e.Message}", e);
        }
        string hash = file.ContentHash
            ?? throw new ModelFileException($"{path}: no {GgufFormat.KeyContentHash} metadata (not written by xlmedge-weights?)");
        if (!file.VerifyContentHash(out string? actual))
            throw new ModelFileException($"{path}: content hash mismatch: stored {hash}, the bytes hash to {actual} (the file changed after packing)");
        stdout.WriteLine($"ok: {path} ({hash}, {file.Tensors.Count} tensors)");
        return 0;
    }
}
