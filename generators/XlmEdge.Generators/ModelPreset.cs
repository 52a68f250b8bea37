using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using Microsoft.CodeAnalysis.Text;

namespace XlmEdge.Generators;

/// <summary>
/// One model preset (a *.xlm.json file): a name and the geometry of an XLM checkpoint, in Hugging Face
/// config.json names. The geometry type and its limits are the runtime's own (XlmGeometry.cs, linked).
/// </summary>
internal sealed record ModelPreset(
    string Path,
    string Name,
    string? HubId,
    string Description,
    bool IsTestFixture,
    XlmGeometry Geometry)
{
    /// <summary>Pascal-case identifier made from <see cref="Name"/>: "xlm-mlm-enfr-1024" -> "XlmMlmEnfr1024".</summary>
    public string ClassName => Identifier(Name);

    public static string Identifier(string name)
    {
        var sb = new StringBuilder();
        bool upper = true;
        foreach (char c in name)
        {
            if (!char.IsLetterOrDigit(c) || c > 127)
            {
                upper = true;
                continue;
            }
            sb.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }
        if (sb.Length > 0 && char.IsDigit(sb[0]))
            sb.Insert(0, "Preset");
        return sb.ToString();
    }
}

/// <summary>The outcome of reading one preset file: the preset, or the diagnostics that say why there is none.</summary>
internal sealed record PresetParseResult(ModelPreset? Preset, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>Reads and validates a preset file; every problem becomes a diagnostic naming the file and the field.</summary>
internal static class PresetReader
{
    public static PresetParseResult Read(string path, SourceText? text)
    {
        string file = System.IO.Path.GetFileName(path);
        if (text is null)
            return Fail(DiagnosticInfo.At(PresetDiagnostics.Unreadable, path, null, default, file));

        Dictionary<string, JsonMember> members;
        string content = text.ToString();
        try
        {
            members = FlatJson.ParseObject(content);
        }
        catch (FlatJsonException e)
        {
            int at = Math.Min(e.Offset, content.Length);
            return Fail(DiagnosticInfo.At(PresetDiagnostics.InvalidJson, path, text, new TextSpan(at, 0), file, e.Message));
        }

        var reader = new FieldReader(path, file, text, members);
        string? name = reader.String("name", required: true);
        string? hubId = reader.String("hub_id", required: true, nullable: true);
        string description = reader.String("description", required: false) ?? "";
        bool isTestFixture = reader.Bool("test_fixture", required: false) ?? false;
        long? vocab = reader.Int(Hf(GeometryField.VocabularySize));
        long? d = reader.Int(Hf(GeometryField.EmbeddingDimension));
        long? layers = reader.Int(Hf(GeometryField.Layers));
        long? heads = reader.Int(Hf(GeometryField.Heads));
        long? languages = reader.Int(Hf(GeometryField.LanguageCount));
        bool? useLangEmb = reader.Bool(Hf(GeometryField.UseLanguageEmbeddings), required: true);
        long? context = reader.Int(Hf(GeometryField.ContextLength));
        double? eps = reader.Number(Hf(GeometryField.LayerNormEpsilon));
        bool causal = reader.Bool(Hf(GeometryField.IsCausal), required: false) ?? false;

        if (name is not null)
        {
            if (name.Length == 0 || !IsPresetName(name))
                reader.Invalid("name", $"'{name}' must be letters, digits, '-', '_' or '.', starting with a letter or digit");
        }
        XlmGeometry? geometry = null;
        if (vocab is not null && d is not null && layers is not null && heads is not null && languages is not null
            && useLangEmb is not null && context is not null && eps is not null)
        {
            var problems = new List<GeometryProblem>();
            geometry = XlmGeometry.Create(vocab.Value, d.Value, layers.Value, heads.Value, languages.Value, useLangEmb.Value,
                context.Value, eps.Value, causal, problems);
            foreach (var problem in problems)
                reader.Invalid(Hf(problem.Field), problem.Message);
        }

        if (reader.Diagnostics.Count > 0 || name is null || geometry is null)
            return new PresetParseResult(null, new EquatableArray<DiagnosticInfo>(reader.Diagnostics.ToArray()));
        return new PresetParseResult(new ModelPreset(path, name, hubId, description, isTestFixture, geometry),
            EquatableArray<DiagnosticInfo>.Empty);
    }

    private static string Hf(GeometryField field) => XlmGeometry.HfName(field);

    private static bool IsPresetName(string name)
    {
        if (!IsAsciiLetterOrDigit(name[0]))
            return false;
        foreach (char c in name)
        {
            if (!IsAsciiLetterOrDigit(c) && c != '-' && c != '_' && c != '.')
                return false;
        }
        return true;
    }

    private static bool IsAsciiLetterOrDigit(char c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

    private static PresetParseResult Fail(DiagnosticInfo diagnostic) =>
        new(null, new EquatableArray<DiagnosticInfo>([diagnostic]));

    private sealed class FieldReader(string path, string file, SourceText text, Dictionary<string, JsonMember> members)
    {
        public List<DiagnosticInfo> Diagnostics { get; } = [];

        public string? String(string field, bool required, bool nullable = false)
        {
            if (!members.TryGetValue(field, out var m))
            {
                if (required)
                    Bad(field, "is missing");
                return null;
            }
            if (m.Kind == JsonKind.Null && nullable)
                return null;
            if (m.Kind != JsonKind.String)
                return Bad<string?>(field, nullable ? "must be a string or null" : "must be a string", m);
            return m.Text;
        }

        public bool? Bool(string field, bool required)
        {
            if (!members.TryGetValue(field, out var m))
            {
                if (required)
                    Bad(field, "is missing");
                return null;
            }
            return m.Kind switch
            {
                JsonKind.True => true,
                JsonKind.False => false,
                _ => Bad<bool?>(field, "must be true or false", m),
            };
        }

        /// <summary>An integer field (range checks are the geometry's); null when missing or not an integer.</summary>
        public long? Int(string field)
        {
            if (!members.TryGetValue(field, out var m))
                return Bad<long?>(field, "is missing");
            if (m.Kind != JsonKind.Number || !long.TryParse(m.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
            {
                // A number too long for a long is still an integer, just out of range.
                bool integral = m.Kind == JsonKind.Number && m.Text.IndexOfAny(['.', 'e', 'E']) < 0;
                return integral
                    ? InvalidAt<long?>(field, $"{m.Text} is too large", m)
                    : Bad<long?>(field, "must be an integer", m);
            }
            return value;
        }

        public double? Number(string field)
        {
            if (!members.TryGetValue(field, out var m))
                return Bad<double?>(field, "is missing");
            if (m.Kind != JsonKind.Number
                || !double.TryParse(m.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
                || double.IsInfinity(value))
                return Bad<double?>(field, "must be a finite number", m);
            return value;
        }

        public void Invalid(string field, string problem) =>
            InvalidAt<int>(field, problem, members.TryGetValue(field, out var m) ? m : null);

        private T InvalidAt<T>(string field, string problem, JsonMember? m)
        {
            Diagnostics.Add(DiagnosticInfo.At(PresetDiagnostics.BadValue, path, text, SpanOf(m), file, field, problem));
            return default!;
        }

        private void Bad(string field, string problem) => Bad<int>(field, problem);

        private T Bad<T>(string field, string problem, JsonMember? m = null)
        {
            Diagnostics.Add(DiagnosticInfo.At(PresetDiagnostics.BadField, path, text, SpanOf(m), file, field, problem));
            return default!;
        }

        private static TextSpan SpanOf(JsonMember? m) => m is null ? new TextSpan(0, 0) : new TextSpan(m.Start, m.Length);
    }
}
