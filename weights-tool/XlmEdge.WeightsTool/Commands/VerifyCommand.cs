using XlmEdge.Weights;
using XlmEdge.WeightsTool.Checkpoints;

namespace XlmEdge.WeightsTool.Commands;

/// <summary>
/// verify FILE: opens the file with the runtime's GGUF reader (every structural check it
/// makes), recomputes the content hash, and checks that the file describes a complete XLM
/// model: the metadata the runtime needs, and every tensor with the shape and type the
/// geometry implies.
/// </summary>
internal static class VerifyCommand
{
    public static int Run(string path, TextWriter stdout)
    {
        using var file = GgufFile.Open(path);
        string hash = file.ContentHash
            ?? throw new ModelFileException($"{path}: no {GgufFormat.KeyContentHash} metadata (not written by xlmedge-weights?)");
        if (!file.VerifyContentHash(out string? actual))
            throw new ModelFileException($"{path}: content hash mismatch: stored {hash}, the bytes hash to {actual} (the file changed after packing)");
        CheckModel(file, path);
        stdout.WriteLine($"ok: {path} ({hash}, {file.Tensors.Count} tensors)");
        return 0;
    }

    private static void CheckModel(GgufFile file, string path)
    {
        string architecture = file.GetString(GgufFormat.KeyArchitecture);
        if (architecture != GgufFormat.Architecture)
            throw new ModelFileException($"{path}: architecture is '{architecture}', not '{GgufFormat.Architecture}'");
        string[] languages = file.GetStringArray(GgufFormat.KeyLanguages);
        string[] tokens = file.GetStringArray(GgufFormat.KeyTokens);
        file.GetStringArray(GgufFormat.KeyMerges);
        int vocab = Dimension(file, GgufFormat.KeyVocabSize, path);
        int d = Dimension(file, GgufFormat.KeyEmbeddingLength, path);
        int layers = Dimension(file, GgufFormat.KeyBlockCount, path);
        int heads = Dimension(file, GgufFormat.KeyHeadCount, path);
        int context = Dimension(file, GgufFormat.KeyContextLength, path);
        if (tokens.Length != vocab)
            throw new ModelFileException($"{path}: {tokens.Length} tokens but {GgufFormat.KeyVocabSize} is {vocab}");
        if (d % heads != 0)
            throw new ModelFileException($"{path}: embedding length {d} is not divisible by head count {heads}");
        if (file.GetUInt32(GgufFormat.KeyFeedForwardLength) != 4L * d)
            throw new ModelFileException($"{path}: {GgufFormat.KeyFeedForwardLength} is not 4 x {d}");
        if (languages.Length == 0)
            throw new ModelFileException($"{path}: {GgufFormat.KeyLanguages} is empty");
        foreach (var key in new[] { GgufFormat.KeyBosTokenId, GgufFormat.KeyEosTokenId, GgufFormat.KeyPaddingTokenId, GgufFormat.KeyUnknownTokenId, GgufFormat.KeyMaskTokenId })
        {
            if (file.GetUInt32(key) >= (uint)vocab)
                throw new ModelFileException($"{path}: {key} is not below the vocabulary size {vocab}");
        }
        bool useLangEmb = file.GetBool(GgufFormat.KeyUseLangEmb);
        float eps = file.GetFloat32(GgufFormat.KeyLayerNormEpsilon);
        var config = new HfConfig(vocab, d, layers, heads, languages.Length, useLangEmb, context, eps,
            file.GetBool(GgufFormat.KeyGeluActivation), file.GetBool(GgufFormat.KeySinusoidalEmbeddings), file.GetBool(GgufFormat.KeyCausal),
            0, 0, 0, 0, 0, languages, file.GetBool(GgufFormat.KeyDoLowercaseAndRemoveAccent));
        var expected = XlmTensorLayout.Expected(config);
        foreach (var (name, shape) in expected)
        {
            if (!file.TryGetTensor(name, out var t))
                throw new ModelFileException($"{path}: tensor '{name}' is missing");
            if (!t.Shape.AsSpan().SequenceEqual(shape))
                throw new ModelFileException($"{path}: tensor '{name}' has shape {SourceDTypes.FormatShape(t.Shape)}, expected {SourceDTypes.FormatShape(shape)}");
            if (shape.Length == 1 && t.Type != GgufTensorType.F32)
                throw new ModelFileException($"{path}: 1-D tensor '{name}' is {t.Type}, expected F32");
        }
        if (file.Tensors.Count != expected.Count)
            throw new ModelFileException($"{path}: {file.Tensors.Count} tensors, {expected.Count} expected for this geometry");
    }

    private static int Dimension(GgufFile file, string key, string path)
    {
        uint v = file.GetUInt32(key);
        return v is 0 or > (1u << 24) ? throw new ModelFileException($"{path}: {key} = {v} is not a plausible size") : (int)v;
    }
}
