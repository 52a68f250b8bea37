using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using XlmEdge.Generators;

namespace XlmEdge.Tests.Generators;

/// <summary>Runs <see cref="XlmForwardGenerator"/> in memory with CSharpGeneratorDriver, as the compiler would.</summary>
internal static class GeneratorHarness
{
    public static string RepositoryRoot { get; } = Path.GetFullPath(Path.Combine(Fixtures.Root, "..", ".."));

    public static string PresetsFolder { get; } = Path.Combine(RepositoryRoot, "src", "XlmEdge", "Model", "Presets");

    public static CSharpParseOptions ParseOptions { get; } =
        new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.Diagnose)
            // The symbols of the library's net10.0 build, whose references these compilations use.
            .WithPreprocessorSymbols("NET", "NET10_0", "NET10_0_OR_GREATER", "NET9_0_OR_GREATER", "NET8_0_OR_GREATER", "RELEASE");

    /// <summary>The shipped preset files, as the library's AdditionalFiles item passes them.</summary>
    public static AdditionalText[] ShippedPresets() =>
        [.. Directory.GetFiles(PresetsFolder, "*" + XlmForwardGenerator.PresetSuffix).Order(StringComparer.Ordinal)
            .Select(path => new InMemoryText(path, File.ReadAllText(path)))];

    public static AdditionalText Text(string path, string content) => new InMemoryText(path, content);

    /// <summary>Runs the generator over <paramref name="compilation"/> and the preset files.</summary>
    public static GeneratorDriverRunResult Run(Compilation compilation, IEnumerable<AdditionalText> presets,
        out Compilation output, out ImmutableArray<Diagnostic> generatorDiagnostics)
    {
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            [new XlmForwardGenerator().AsSourceGenerator()], presets, ParseOptions);
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out output, out generatorDiagnostics);
        return driver.GetRunResult();
    }

    /// <summary>A compilation with no sources, for tests that only look at what the generator reports.</summary>
    public static CSharpCompilation Empty() =>
        CSharpCompilation.Create("Empty", options: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));

    /// <summary>
    /// The runtime library (src/XlmEdge) compiled from source, with the settings of Directory.Build.props
    /// that matter to the compiler (nullable, unsafe, implicit usings, XML docs), so generated code is
    /// checked against the real types it calls.
    /// </summary>
    public static CSharpCompilation RuntimeLibrary()
    {
        string source = Path.Combine(RepositoryRoot, "src", "XlmEdge");
        var trees = Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .Where(path => !IsBuildOutput(Path.GetRelativePath(source, path)) && !IsMosesData(Path.GetRelativePath(source, path)))
            .Order(StringComparer.Ordinal)
            .Select(path => CSharpSyntaxTree.ParseText(File.ReadAllText(path), ParseOptions, path))
            .Append(CSharpSyntaxTree.ParseText(ImplicitUsings, ParseOptions, "GlobalUsings.g.cs"));
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true)
            // The SDK suppresses these assembly-unification notes too.
            .WithSpecificDiagnosticOptions([new("CS1701", ReportDiagnostic.Suppress), new("CS1702", ReportDiagnostic.Suppress)]);
        return CSharpCompilation.Create("XlmEdge", trees, FrameworkReferences(), options);
    }

    // XlmEdge.csproj removes Tokenization/MosesData from Compile: nonbreaking_prefix.cs is Czech data.
    private static bool IsMosesData(string relative) =>
        relative.StartsWith(Path.Combine("Tokenization", "MosesData") + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static bool IsBuildOutput(string relative)
    {
        string first = relative.Split(Path.DirectorySeparatorChar)[0];
        return first is "obj" or "bin";
    }

    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    /// <summary>The assemblies the test host runs on, minus XlmEdge's own (their sources are compiled instead).</summary>
    private static IEnumerable<MetadataReference> FrameworkReferences()
    {
        string paths = (string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")
            ?? throw new InvalidOperationException("the host publishes no TRUSTED_PLATFORM_ASSEMBLIES");
        return paths.Split(Path.PathSeparator)
            .Where(p => !Path.GetFileName(p).StartsWith("XlmEdge", StringComparison.OrdinalIgnoreCase)
                && !Path.GetFileName(p).StartsWith("xlmedge", StringComparison.OrdinalIgnoreCase)
                && !Path.GetFileName(p).StartsWith("libxlmedge", StringComparison.OrdinalIgnoreCase))
            .Select(p => MetadataReference.CreateFromFile(p));
    }

    private sealed class InMemoryText(string path, string content) : AdditionalText
    {
        public override string Path { get; } = path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(content);
    }
}
