using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace XlmEdge.Generators;

/// <summary>
/// Model presets (AdditionalFiles named *.xlm.json) -> one unrolled forward class per masked-model
/// geometry (named after its first preset), the <c>XlmPresets</c> catalogue and the
/// <c>GeneratedForwards</c> factory. A malformed preset is
/// reported as an XLMGEN diagnostic and left out; it never stops the generator.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class XlmForwardGenerator : IIncrementalGenerator
{
    /// <summary>File-name suffix of a model preset.</summary>
    public const string PresetSuffix = ".xlm.json";

    /// <summary>Tracking name of the step that reads one preset (for incremental-caching tests).</summary>
    public const string ReadStep = "ReadPreset";

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var presets = context.AdditionalTextsProvider
            .Where(static file => file.Path.EndsWith(PresetSuffix, StringComparison.OrdinalIgnoreCase))
            .Select(static (file, cancellation) => PresetReader.Read(file.Path, file.GetText(cancellation)))
            .WithTrackingName(ReadStep)
            .Collect();
        context.RegisterSourceOutput(presets, static (output, results) => Emit(output, results));
    }

    private static void Emit(SourceProductionContext output, ImmutableArray<PresetParseResult> results)
    {
        var valid = new List<ModelPreset>();
        foreach (var result in results)
        {
            foreach (var diagnostic in result.Diagnostics)
                output.ReportDiagnostic(diagnostic.ToDiagnostic());
            if (result.Preset is not null)
                valid.Add(result.Preset);
        }
        valid.Sort(static (a, b) =>
        {
            int byName = string.CompareOrdinal(a.Name, b.Name);
            return byName != 0 ? byName : string.CompareOrdinal(a.Path, b.Path);
        });

        var byClass = new Dictionary<string, ModelPreset>(StringComparer.Ordinal);
        var emitted = new List<ModelPreset>();
        var withForward = new List<ModelPreset>();
        foreach (var preset in valid)
        {
            if (byClass.TryGetValue(preset.ClassName, out var first))
            {
                output.ReportDiagnostic(DiagnosticInfo.At(PresetDiagnostics.DuplicatePreset, preset.Path, null, default,
                    System.IO.Path.GetFileName(preset.Path), preset.ClassName, System.IO.Path.GetFileName(first.Path)).ToDiagnostic());
                continue;
            }
            byClass.Add(preset.ClassName, preset);
            emitted.Add(preset);
            // A causal model runs the key/value-cached decoder, not the encoder blocks; presets of equal
            // geometry (xlm-mlm-xnli15-1024 and xlm-mlm-tlm-xnli15-1024) share the first one's forward.
            if (preset.Geometry.IsCausal || withForward.Exists(p => p.Geometry.Equals(preset.Geometry)))
                continue;
            withForward.Add(preset);
            output.AddSource(ForwardEmitter.ForwardHintName(preset), ForwardEmitter.Forward(preset));
        }
        output.AddSource(ForwardEmitter.CatalogueHintName, ForwardEmitter.Catalogue(emitted, withForward));
    }
}
