using XlmEdge.Tokenization;
using XlmEdge.Weights;

namespace XlmEdge.Model;

/// <summary>Builds the runtime's pieces from a GGUF file's metadata.</summary>
internal static class ModelFile
{
    /// <summary>The tokenizer stored beside the weights; checks it agrees with the model's config.</summary>
    public static XlmTokenizer CreateTokenizer(GgufFile file, XlmConfig config)
    {
        var tokens = file.GetStringArray(GgufFormat.KeyTokens);
        if (tokens.Length != config.VocabularySize)
            throw new ModelFileException($"the file has {tokens.Length} tokens but a vocabulary size of {config.VocabularySize}");
        var tokenizer = new XlmTokenizer(tokens, file.GetStringArray(GgufFormat.KeyMerges), config.Languages,
            file.GetBool(GgufFormat.KeyDoLowercaseAndRemoveAccent));
        if (tokenizer.MaskId != config.MaskId)
            throw new ModelFileException($"mask token id {config.MaskId} is not the vocabulary's <special1> ({tokenizer.MaskId})");
        return tokenizer;
    }
}
