namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>
/// The tensors of one weight file of an HF checkpoint folder, mapped read-only. Which file is
/// read when several are present: model.safetensors, then pytorch_model.bin (zip or legacy
/// format, told apart by the first bytes), then pytorch_model_legacy.bin.
/// </summary>
internal sealed class Checkpoint : IDisposable
{
    public static readonly string[] WeightFilePreference = ["model.safetensors", "pytorch_model.bin", "pytorch_model_legacy.bin"];

    public MappedFile File { get; }
    public string Format { get; }
    public IReadOnlyDictionary<string, CheckpointTensor> Tensors { get; }

    private Checkpoint(MappedFile file, string format, IReadOnlyDictionary<string, CheckpointTensor> tensors)
    {
        File = file;
        Format = format;
        Tensors = tensors;
    }

    /// <summary>Finds the preferred weight file of a checkpoint folder.</summary>
    public static string FindWeightFile(string directory)
    {
        foreach (var name in WeightFilePreference)
        {
            var path = Path.Combine(directory, name);
            if (System.IO.File.Exists(path))
                return path;
        }
        throw new ModelFileException($"{directory}: no weight file found (looked for {string.Join(", ", WeightFilePreference)})");
    }

    /// <summary>Opens a weight file; the format comes from its content, not its name.</summary>
    public static Checkpoint Open(string path)
    {
        var file = MappedFile.Open(path);
        try
        {
            var head = file.Span(0, Math.Min(file.Length, 8), "file start");
            (string format, IReadOnlyDictionary<string, CheckpointTensor> tensors) = head switch
            {
                _ when TorchZipReader.LooksLikeZip(head) => ("pytorch zip", TorchZipReader.Read(file)),
                _ when TorchLegacyReader.LooksLikeLegacy(head) => ("pytorch legacy", TorchLegacyReader.Read(file)),
                _ when path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) => ("safetensors", SafetensorsReader.Read(file)),
                _ => throw new ModelFileException($"{file.Name}: not a safetensors file, a PyTorch zip checkpoint or a legacy PyTorch checkpoint"),
            };
            return new Checkpoint(file, format, tensors);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public void Dispose() => File.Dispose();
}
