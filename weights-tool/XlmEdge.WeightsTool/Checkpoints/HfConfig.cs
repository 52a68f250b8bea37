using System.Text.Json;
using XlmEdge.Model;

namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>
/// The HF XLMConfig fields XlmEdge needs, read from config.json: the geometry (vocab_size, emb_dim,
/// n_layers and n_heads are required; the others take HF's defaults), the special ids, and the
/// languages from lang2id or id2lang (config.json, else tokenizer_config.json; a one-language model
/// that names none gets "en", as HF's tokenizer does);
/// do_lowercase_and_remove_accent from tokenizer_config.json (what HF's tokenizer reads), else
/// config.json, else true. Ranges are the geometry's (<see cref="XlmGeometry"/>); whether the
/// runtime can run the model is <see cref="ModelMetadata.Validate"/>'s to say.
/// </summary>
internal sealed record HfConfig(
    XlmGeometry Geometry, bool GeluActivation, bool SinusoidalEmbeddings, SpecialTokenIds Specials,
    string[] Languages, bool DoLowercaseAndRemoveAccent, string? NameOrPath)
{
    private const long MaxJsonBytes = 16L << 20;

    /// <summary>The language HF's XLMTokenizer tokenizes for when it is given none (<c>_tokenize(text, lang="en")</c>).</summary>
    public const string UnnamedSingleLanguage = "en";

    /// <param name="directory">The checkpoint folder.</param>
    /// <param name="note">Receives notes for the user.</param>
    /// <param name="causal">
    /// True to pack a causal model whatever config.json says: the original XLM code chose the
    /// attention mask per call, so a converted xlm-clm-* config need not say <c>causal</c>.
    /// </param>
    public static HfConfig Load(string directory, Action<string> note, bool causal = false)
    {
        using var config = ParseJsonObject(Path.Combine(directory, "config.json"), required: true)!;
        var tokenizerConfigPath = Path.Combine(directory, "tokenizer_config.json");
        using var tokenizerConfig = ParseJsonObject(tokenizerConfigPath, required: false);
        var c = config.RootElement;

        if (c.TryGetProperty("asm", out var asm) && asm.ValueKind == JsonValueKind.True)
            throw new ModelFileException("config.json: asm (adaptive softmax output) is not supported");
        var problems = new List<GeometryProblem>();
        var geometry = XlmGeometry.Create(
            Int(c, Hf(GeometryField.VocabularySize), null), Int(c, Hf(GeometryField.EmbeddingDimension), null),
            Int(c, Hf(GeometryField.Layers), null), Int(c, Hf(GeometryField.Heads), null),
            Int(c, Hf(GeometryField.LanguageCount), 1), Bool(c, Hf(GeometryField.UseLanguageEmbeddings), true),
            Int(c, Hf(GeometryField.ContextLength), 512), Number(c, Hf(GeometryField.LayerNormEpsilon), 1e-12),
            causal || Bool(c, Hf(GeometryField.IsCausal), false), problems)
            ?? throw new ModelFileException($"config.json: {Hf(problems[0].Field)} {problems[0].Message}");
        if (causal && !Bool(c, Hf(GeometryField.IsCausal), false))
            note("note: packing a causal language model (--causal); config.json does not say \"causal\": true");

        string[]? languages = ReadLanguages(c, "config.json", geometry.LanguageCount);
        string[]? tokenizerLanguages = tokenizerConfig is null ? null : ReadLanguages(tokenizerConfig.RootElement, "tokenizer_config.json", geometry.LanguageCount);
        // HF users take language ids from the tokenizer and the model embeds them: the two must agree.
        if (languages is not null && tokenizerLanguages is not null && !languages.SequenceEqual(tokenizerLanguages))
            throw new ModelFileException($"config.json ({string.Join(", ", languages)}) and tokenizer_config.json ({string.Join(", ", tokenizerLanguages)}) give the languages different ids");
        languages ??= tokenizerLanguages;
        if (languages is null)
        {
            // xlm-mlm-en-2048 names no language: HF tokenizes its text as English, the tokenizer's default.
            if (geometry.LanguageCount != 1)
                throw new ModelFileException($"config.json: no lang2id or id2lang (in config.json or tokenizer_config.json), so the model's {geometry.LanguageCount} languages cannot be named");
            note($"note: the checkpoint names no language (no lang2id or id2lang); its one language is '{UnnamedSingleLanguage}', the language HF's XLMTokenizer uses when given none");
            languages = [UnnamedSingleLanguage];
        }

        bool? lowerConfig = OptionalBool(c, "do_lowercase_and_remove_accent", "config.json");
        bool? lowerTokenizer = tokenizerConfig is null ? null
            : OptionalBool(tokenizerConfig.RootElement, "do_lowercase_and_remove_accent", "tokenizer_config.json");
        if (lowerConfig is not null && lowerTokenizer is not null && lowerConfig != lowerTokenizer)
            note($"note: do_lowercase_and_remove_accent differs between config.json ({lowerConfig}) and tokenizer_config.json ({lowerTokenizer}); using tokenizer_config.json's, as HF's tokenizer does");

        return new HfConfig(
            geometry,
            Bool(c, "gelu_activation", true),
            Bool(c, "sinusoidal_embeddings", false),
            new SpecialTokenIds(Id(c, "bos_index", 0), Id(c, "eos_index", 1), Id(c, "pad_index", 2), Id(c, "unk_index", 3), Id(c, "mask_index", 5)),
            languages,
            lowerTokenizer ?? lowerConfig ?? true,
            OptionalString(c, "_name_or_path"));
    }

    private static string Hf(GeometryField field) => XlmGeometry.HfName(field);

    internal static JsonDocument? ParseJsonObject(string path, bool required)
    {
        string name = Path.GetFileName(path);
        if (!required && !File.Exists(path) && !Directory.Exists(path))
            return null;
        var doc = InputFiles.ParseJson(InputFiles.ReadLimited(path, MaxJsonBytes, "a config file"), name, maxDepth: 32);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw new ModelFileException($"{name}: not a JSON object");
        }
        return doc;
    }

    private static string[]? ReadLanguages(JsonElement root, string file, int nLangs)
    {
        string[]? fromLang2Id = null;
        if (root.TryGetProperty("lang2id", out var lang2id) && lang2id.ValueKind != JsonValueKind.Null)
        {
            if (lang2id.ValueKind != JsonValueKind.Object)
                throw new ModelFileException($"{file}: lang2id is not an object");
            fromLang2Id = new string[nLangs];
            foreach (var p in lang2id.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0 || id >= nLangs)
                    throw new ModelFileException($"{file}: lang2id['{p.Name}'] is not a language id below n_langs {nLangs}");
                if (fromLang2Id[id] is not null)
                    throw new ModelFileException($"{file}: lang2id gives id {id} to both '{fromLang2Id[id]}' and '{p.Name}'");
                fromLang2Id[id] = p.Name;
            }
            CheckComplete(fromLang2Id, file, "lang2id", nLangs);
        }
        string[]? fromId2Lang = null;
        if (root.TryGetProperty("id2lang", out var id2lang) && id2lang.ValueKind != JsonValueKind.Null)
        {
            if (id2lang.ValueKind != JsonValueKind.Object)
                throw new ModelFileException($"{file}: id2lang is not an object");
            fromId2Lang = new string[nLangs];
            foreach (var p in id2lang.EnumerateObject())
            {
                if (!int.TryParse(p.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id)
                    || id >= nLangs || p.Value.ValueKind != JsonValueKind.String)
                    throw new ModelFileException($"{file}: id2lang['{p.Name}'] is not a language id below n_langs {nLangs} mapped to a name");
                if (fromId2Lang[id] is not null)
                    throw new ModelFileException($"{file}: id2lang lists id {id} twice");
                fromId2Lang[id] = p.Value.GetString()!;
            }
            CheckComplete(fromId2Lang, file, "id2lang", nLangs);
        }
        if (fromLang2Id is not null && fromId2Lang is not null && !fromLang2Id.SequenceEqual(fromId2Lang))
            throw new ModelFileException($"{file}: lang2id and id2lang disagree");
        return fromLang2Id ?? fromId2Lang;
    }

    private static void CheckComplete(string[] languages, string file, string key, int nLangs)
    {
        int missing = Array.IndexOf(languages, null);
        if (missing >= 0)
            throw new ModelFileException($"{file}: {key} names no language for id {missing} (n_langs is {nLangs})");
        if (languages.Distinct(StringComparer.Ordinal).Count() != languages.Length)
            throw new ModelFileException($"{file}: {key} names a language twice");
    }

    private static long Int(JsonElement root, string key, long? fallback)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
            return fallback ?? throw new ModelFileException($"config.json: required field {key} is missing");
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long value))
            throw new ModelFileException($"config.json: {key} is not an integer");
        return value;
    }

    /// <summary>A special token id; whether it is the right token is the validation's to say.</summary>
    private static int Id(JsonElement root, string key, int fallback)
    {
        long id = Int(root, key, fallback);
        return id is < 0 or > int.MaxValue ? throw new ModelFileException($"config.json: {key} = {id} is not a token id") : (int)id;
    }

    private static double Number(JsonElement root, string key, double fallback)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
            return fallback;
        if (v.ValueKind != JsonValueKind.Number)
            throw new ModelFileException($"config.json: {key} is not a number");
        return v.GetDouble();
    }

    private static string? OptionalString(JsonElement root, string key)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
            return null;
        if (v.ValueKind != JsonValueKind.String)
            throw new ModelFileException($"config.json: {key} is not a string");
        string value = v.GetString()!;
        return value.Length == 0 ? null : value;
    }

    private static bool Bool(JsonElement root, string key, bool fallback) =>
        OptionalBool(root, key, "config.json") ?? fallback;

    private static bool? OptionalBool(JsonElement root, string key, string file)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
            return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ModelFileException($"{file}: {key} is not true or false"),
        };
    }
}
