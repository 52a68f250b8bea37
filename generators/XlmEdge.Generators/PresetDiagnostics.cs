using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace XlmEdge.Generators;

/// <summary>The generator's diagnostics: every malformed preset is reported, never thrown.</summary>
internal static class PresetDiagnostics
{
    private const string Category = "XlmEdge.Generators";

    public static readonly DiagnosticDescriptor InvalidJson = new(
        "XLMGEN001", "Model preset is not valid JSON",
        "Model preset '{0}' is not valid JSON: {1}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BadField = new(
        "XLMGEN002", "Model preset field is missing or has the wrong type",
        "Model preset '{0}': field '{1}' {2}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BadValue = new(
        "XLMGEN003", "Model preset field has an invalid value",
        "Model preset '{0}': field '{1}' {2}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DuplicatePreset = new(
        "XLMGEN004", "Two model presets produce the same class",
        "Model preset '{0}' produces class '{1}', like preset '{2}'; give the presets distinct names", Category,
        DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor Unreadable = new(
        "XLMGEN005", "Model preset file cannot be read",
        "Model preset '{0}' cannot be read", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);
}

/// <summary>
/// A diagnostic kept as plain values, so the incremental pipeline can compare results between runs
/// (a <see cref="Diagnostic"/> with a <see cref="Location"/> would defeat caching).
/// </summary>
internal sealed record DiagnosticInfo(
    DiagnosticDescriptor Descriptor, string Path, TextSpan Span, LinePositionSpan Lines, string Arg0, string Arg1, string Arg2)
{
    /// <summary>A diagnostic at <paramref name="span"/> of <paramref name="text"/> (the whole file when the span is empty and the text unknown).</summary>
    public static DiagnosticInfo At(DiagnosticDescriptor descriptor, string path, SourceText? text, TextSpan span,
        string arg0, string arg1 = "", string arg2 = "")
    {
        var lines = text is null ? default : text.Lines.GetLinePositionSpan(span);
        return new DiagnosticInfo(descriptor, path, span, lines, arg0, arg1, arg2);
    }

    public Diagnostic ToDiagnostic() =>
        Diagnostic.Create(Descriptor, Location.Create(Path, Span, Lines), Arg0, Arg1, Arg2);
}
