using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using XlmEdge.Generators;

namespace XlmEdge.Tests.Generators;

/// <summary>
/// The source generator in isolation: the shipped presets produce forwards that compile with the
/// runtime library and carry the presets' geometry; malformed presets produce XLMGEN diagnostics
/// naming the file and the field, never an exception.
/// </summary>
public sealed class GeneratorTests
{
    private const string CatalogueHint = "XlmPresets.g.cs";
    private static readonly Lazy<(GeneratorDriverRunResult Run, Compilation Output)> Library = new(() =>
    {
        var run = GeneratorHarness.Run(GeneratorHarness.RuntimeLibrary(), GeneratorHarness.ShippedPresets(), out var output, out _);
        return (run, output);
    });

    [Fact]
    public void ShippedPresetsGenerateCodeThatCompilesWithTheLibrary()
    {
        var (run, output) = Library.Value;
        var result = Assert.Single(run.Results);
        Assert.Null(result.Exception);
        Assert.Empty(result.Diagnostics);

        var presetFiles = Directory.GetFiles(GeneratorHarness.PresetsFolder, "*.xlm.json");
        Assert.True(presetFiles.Length >= 11, "tiny-enfr and the ten released XLM checkpoints are shipped");
        // One forward per masked-model geometry, named after its first preset; causal presets have none.
        var expectedHints = presetFiles
            .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement)
            .Where(p => !(p.TryGetProperty("causal", out var causal) && causal.GetBoolean()))
            .OrderBy(p => p.GetProperty("name").GetString(), StringComparer.Ordinal)
            .DistinctBy(p => string.Join(",", new[] { "vocab_size", "emb_dim", "n_layers", "n_heads", "n_langs", "use_lang_emb", "max_position_embeddings", "layer_norm_eps" }
                .Select(field => p.GetProperty(field).GetRawText())))
            .Select(p => $"XlmEdge.Model.Generated.{ModelPreset.Identifier(p.GetProperty("name").GetString()!)}Forward.g.cs")
            .Append(CatalogueHint)
            .Order(StringComparer.Ordinal);
        Assert.Equal(expectedHints, result.GeneratedSources.Select(s => s.HintName).Order(StringComparer.Ordinal));

        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
        Assert.True(problems.Length == 0, string.Join(Environment.NewLine, problems.Select(d => d.ToString())));
    }

    [Theory]
    [InlineData("xlm-mlm-enfr-1024.xlm.json", "XlmMlmEnfr1024")]
    [InlineData("tiny-enfr.xlm.json", "TinyEnfr")]
    [InlineData("xlm-mlm-en-2048.xlm.json", "XlmMlmEn2048")]
    [InlineData("xlm-mlm-100-1280.xlm.json", "XlmMlm1001280")]
    public void ForwardIsUnrolledWithThePresetGeometryAsConstants(string file, string className)
    {
        var (_, output) = Library.Value;
        using var preset = JsonDocument.Parse(File.ReadAllText(Path.Combine(GeneratorHarness.PresetsFolder, file)));
        var p = preset.RootElement;
        int d = p.GetProperty("emb_dim").GetInt32();
        int heads = p.GetProperty("n_heads").GetInt32();
        int layers = p.GetProperty("n_layers").GetInt32();

        var type = output.GetTypeByMetadataName($"XlmEdge.Model.Generated.{className}Forward`3");
        Assert.NotNull(type);
        Assert.True(type.IsSealed);
        Assert.Equal(Accessibility.Internal, type.DeclaredAccessibility);
        Assert.Equal(d, Constant(type, "EmbeddingDimension"));
        Assert.Equal(heads, Constant(type, "Heads"));
        Assert.Equal(d / heads, Constant(type, "HeadDimension"));
        Assert.Equal(4 * d, Constant(type, "FeedForwardDimension"));
        Assert.Equal(layers, Constant(type, "Layers"));
        Assert.Equal(p.GetProperty("vocab_size").GetInt32(), Constant(type, "VocabularySize"));
        Assert.Equal(p.GetProperty("max_position_embeddings").GetInt32(), Constant(type, "ContextLength"));
        Assert.Equal((float)p.GetProperty("layer_norm_eps").GetDouble(), Constant(type, "LayerNormEpsilon"));

        // Run calls Block0 .. Block{L-1} in order; each block is the model's equations written out: the width-generic
        // kernels called directly (never the generic path's XlmEncoder.RunBlock), with the preset's shapes as constants.
        var run = (MethodDeclarationSyntax)type.GetMembers("Run").Single().DeclaringSyntaxReferences.Single().GetSyntax();
        var calls = run.Body!.Statements
            .Select(s => ((InvocationExpressionSyntax)((ExpressionStatementSyntax)s).Expression).Expression.ToString());
        Assert.Equal(Enumerable.Range(0, layers).Select(i => $"Block{i}"), calls);
        string[] kernels = ["Linear.Panels", "Attention.SelfAttention", "Linear.Panels", "LayerNorm.AddNormalize", "Linear.Panels", "Linear.Panels", "LayerNorm.AddNormalize"];
        // K, N and the output of out, lin1 and lin2; q, k and v are one call.
        string[][] linears =
        [
            ["EmbeddingDimension", "EmbeddingDimension", "y"],
            ["EmbeddingDimension", "FeedForwardDimension", "ffn"], ["FeedForwardDimension", "EmbeddingDimension", "x"],
        ];
        // The normalized rows and the residual each LayerNorm adds: x after attention, y after the FFN.
        string[][] norms = [["y", "x"], ["x", "y"]];
        for (int i = 0; i < layers; i++)
        {
            var block = (MethodDeclarationSyntax)type.GetMembers($"Block{i}").Single().DeclaringSyntaxReferences.Single().GetSyntax();
            var model = output.GetSemanticModel(block.SyntaxTree);
            var invoked = block.DescendantNodes().OfType<InvocationExpressionSyntax>()
                .Select(inv => (inv, symbol: (IMethodSymbol)model.GetSymbolInfo(inv).Symbol!))
                .Where(c => c.symbol.ContainingNamespace.ToDisplayString() == "XlmEdge.Kernels")
                .ToArray();
            Assert.Equal(kernels, invoked.Select(c => $"{c.symbol.ContainingType.Name}.{c.symbol.Name}"));
            Assert.All(invoked, c => Assert.True(c.symbol.IsGenericMethod, $"{c.symbol.Name} is not the width-generic overload"));
            var panels = invoked.Where(c => c.symbol.Name == "Panels").Select(c => c.inv.ArgumentList.Arguments).ToArray();
            // q, k and v: one call (x packed once) with K and N constants and the three projections in order.
            var qkv = panels[0];
            Assert.Equal(8, qkv.Count);
            Assert.Equal(["EmbeddingDimension", "EmbeddingDimension"], new[] { qkv[3].ToString(), qkv[4].ToString() });
            foreach (int at in new[] { 3, 4 })
                Assert.True(model.GetConstantValue(qkv[at].Expression).HasValue, $"Block{i} q/k/v: argument {at} is not a constant");
            Assert.Contains("b.Query.", qkv[5].ToString());
            Assert.Contains("b.Key.", qkv[6].ToString());
            Assert.Contains("b.Value.", qkv[7].ToString());
            for (int j = 0; j < linears.Length; j++)
            {
                var args = panels[j + 1];
                Assert.Equal(linears[j][0], args[3].ToString());
                Assert.Equal(linears[j][1], args[5].ToString());
                Assert.Equal(linears[j][2], args[7].ToString());
                foreach (int at in new[] { 3, 5 })
                    Assert.True(model.GetConstantValue(args[at].Expression).HasValue, $"Block{i} Linear {j}: argument {at} is not a constant");
            }
            var layerNorms = invoked.Where(c => c.symbol.Name == "AddNormalize").Select(c => c.inv.ArgumentList.Arguments).ToArray();
            for (int j = 0; j < norms.Length; j++)
            {
                Assert.Equal(norms[j], new[] { layerNorms[j][1].ToString(), layerNorms[j][2].ToString() });
                Assert.Equal("EmbeddingDimension", layerNorms[j][4].ToString());
            }
            Assert.Contains($"_block{i};", block.ToString());
            Assert.DoesNotContain("RunBlock", block.ToString());
        }
        Assert.Empty(type.GetMembers($"Block{layers}"));
    }

    [Fact]
    public void TinyEnfrPresetIsTheFixtureGeometry()
    {
        using var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.TinyEnfr, "config.json")));
        using var preset = JsonDocument.Parse(File.ReadAllText(Path.Combine(GeneratorHarness.PresetsFolder, "tiny-enfr.xlm.json")));
        foreach (string field in new[] { "vocab_size", "emb_dim", "n_layers", "n_heads", "n_langs", "use_lang_emb", "max_position_embeddings", "layer_norm_eps" })
            Assert.Equal(fixture.RootElement.GetProperty(field).GetRawText(), preset.RootElement.GetProperty(field).GetRawText());
        Assert.True(preset.RootElement.GetProperty("test_fixture").GetBoolean());
    }

    [Fact]
    public void CatalogueAndFactoryAreGenerated()
    {
        var (_, output) = Library.Value;
        var catalogue = output.GetTypeByMetadataName("XlmEdge.XlmPresets");
        Assert.NotNull(catalogue);
        Assert.True(catalogue.IsStatic);
        Assert.Equal(Accessibility.Public, catalogue.DeclaredAccessibility);
        foreach (var file in Directory.GetFiles(GeneratorHarness.PresetsFolder, "*.xlm.json"))
            Assert.Single(catalogue.GetMembers(ClassName(file)));
        Assert.Single(catalogue.GetMembers("All"));
        Assert.Single(catalogue.GetMembers("Find"));
        var factory = output.GetTypeByMetadataName("XlmEdge.Model.Generated.GeneratedForwards");
        Assert.NotNull(factory);
        Assert.Single(factory.GetMembers("TryCreate"));
    }

    public static TheoryData<string, string, string, string> MalformedPresets() => new()
    {
        // case, preset text (from the tiny-enfr preset), diagnostic id, field named in the message
        { "truncated", Tiny(json => json[..(json.Length / 2)]), "XLMGEN001", "" },
        { "not an object", Tiny(_ => "[1, 2]"), "XLMGEN001", "" },
        { "trailing comma", Tiny(json => json.TrimEnd().TrimEnd('}').TrimEnd() + ",}"), "XLMGEN001", "" },
        { "repeated key", Tiny(json => json.Replace("\"n_heads\": 4", "\"n_heads\": 4, \"n_heads\": 4")), "XLMGEN001", "" },
        { "missing n_heads", Edit(o => o.Remove("n_heads")), "XLMGEN002", "n_heads" },
        { "missing name", Edit(o => o.Remove("name")), "XLMGEN002", "name" },
        { "n_layers is a string", Edit(o => o["n_layers"] = "2"), "XLMGEN002", "n_layers" },
        { "emb_dim not an integer", Edit(o => o["emb_dim"] = 64.5), "XLMGEN002", "emb_dim" },
        { "use_lang_emb not a bool", Edit(o => o["use_lang_emb"] = 1), "XLMGEN002", "use_lang_emb" },
        { "d not divisible by heads", Edit(o => o["n_heads"] = 6), "XLMGEN003", "n_heads" },
        { "no layers", Edit(o => o["n_layers"] = 0), "XLMGEN003", "n_layers" },
        { "huge vocabulary", Edit(o => o["vocab_size"] = 99999999999), "XLMGEN003", "vocab_size" },
        { "negative epsilon", Edit(o => o["layer_norm_eps"] = -1e-12), "XLMGEN003", "layer_norm_eps" },
        { "name with spaces", Edit(o => o["name"] = "tiny enfr"), "XLMGEN003", "name" },
    };

    [Theory]
    [MemberData(nameof(MalformedPresets))]
    public void MalformedPresetYieldsItsDiagnosticAndNoForward(string name, string json, string id, string field)
    {
        string path = Path.Combine("/presets", "bad.xlm.json");
        var run = GeneratorHarness.Run(GeneratorHarness.Empty(), [GeneratorHarness.Text(path, json)], out _, out var diagnostics);

        var result = Assert.Single(run.Results);
        Assert.Null(result.Exception);
        var diagnostic = Assert.Single(diagnostics);
        Assert.True(diagnostic.Id == id, $"{name}: expected {id}, got {diagnostic}");
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(path, diagnostic.Location.GetLineSpan().Path);
        string message = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("bad.xlm.json", message);
        if (field.Length > 0)
            Assert.Contains($"'{field}'", message);
        // The bad preset is left out; the (empty) catalogue is still generated so the library compiles.
        Assert.Equal(new[] { CatalogueHint }, result.GeneratedSources.Select(s => s.HintName));
    }

    [Fact]
    public void FieldDiagnosticPointsAtTheValueInTheFile()
    {
        string json = Edit(o => o["n_heads"] = 6);
        string path = "/presets/bad.xlm.json";
        GeneratorHarness.Run(GeneratorHarness.Empty(), [GeneratorHarness.Text(path, json)], out _, out var diagnostics);
        var span = Assert.Single(diagnostics).Location.SourceSpan;
        Assert.Equal("6", json.Substring(span.Start, span.Length));
    }

    [Fact]
    public void BadPresetDoesNotStopTheGoodOnes()
    {
        var presets = GeneratorHarness.ShippedPresets().Append(GeneratorHarness.Text("/presets/broken.xlm.json", "{"));
        var run = GeneratorHarness.Run(GeneratorHarness.Empty(), presets, out _, out var diagnostics);
        Assert.Equal("XLMGEN001", Assert.Single(diagnostics).Id);
        Assert.Equal(Library.Value.Run.Results.Single().GeneratedSources.Length, run.Results.Single().GeneratedSources.Length);
    }

    [Fact]
    public void CausalPresetsAndRepeatedGeometriesHaveNoForwardOfTheirOwn()
    {
        var (_, output) = Library.Value;
        // Causal models run the cached decoder; xnli15 has tlm-xnli15's geometry, whose forward comes first by name.
        Assert.Null(output.GetTypeByMetadataName("XlmEdge.Model.Generated.XlmClmEnfr1024Forward`3"));
        Assert.Null(output.GetTypeByMetadataName("XlmEdge.Model.Generated.XlmClmEnde1024Forward`3"));
        Assert.Null(output.GetTypeByMetadataName("XlmEdge.Model.Generated.XlmMlmXnli151024Forward`3"));
        Assert.NotNull(output.GetTypeByMetadataName("XlmEdge.Model.Generated.XlmMlmTlmXnli151024Forward`3"));
        var catalogue = output.GetTypeByMetadataName("XlmEdge.XlmPresets")!;
        Assert.Single(catalogue.GetMembers("XlmClmEnfr1024"));
        Assert.Single(catalogue.GetMembers("XlmMlmXnli151024"));
    }

    [Fact]
    public void TwoPresetsWithOneClassNameAreReported()
    {
        string tiny = File.ReadAllText(Path.Combine(GeneratorHarness.PresetsFolder, "tiny-enfr.xlm.json"));
        var presets = new[]
        {
            GeneratorHarness.Text("/presets/a.xlm.json", tiny),
            GeneratorHarness.Text("/presets/b.xlm.json", Edit(o => o["name"] = "tiny_enfr")),
        };
        var run = GeneratorHarness.Run(GeneratorHarness.Empty(), presets, out _, out var diagnostics);
        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal("XLMGEN004", diagnostic.Id);
        Assert.Equal(2, run.Results.Single().GeneratedSources.Length);
    }

    [Fact]
    public void OnlyPresetFilesAreRead()
    {
        var run = GeneratorHarness.Run(GeneratorHarness.Empty(), [GeneratorHarness.Text("/presets/notes.json", "not json")], out _, out var diagnostics);
        Assert.Empty(diagnostics);
        Assert.Equal(new[] { CatalogueHint }, run.Results.Single().GeneratedSources.Select(s => s.HintName));
    }

    [Fact]
    public void UnchangedPresetsAreNotReadAgain()
    {
        var presets = GeneratorHarness.ShippedPresets().Append(GeneratorHarness.Text("/presets/bad.xlm.json", Edit(o => o.Remove("n_heads"))));
        GeneratorDriver driver = CSharpGeneratorDriver.Create([new XlmForwardGenerator().AsSourceGenerator()], additionalTexts: presets,
            parseOptions: GeneratorHarness.ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        var compilation = GeneratorHarness.Empty();
        driver = driver.RunGenerators(compilation);
        driver = driver.RunGenerators(compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("class C { }")));

        var steps = driver.GetRunResult().Results.Single().TrackedSteps[XlmForwardGenerator.ReadStep];
        Assert.Equal(presets.Count(), steps.Length);
        Assert.All(steps.SelectMany(s => s.Outputs), o => Assert.True(
            o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"step output was {o.Reason}"));
    }

    private static string Tiny(Func<string, string> change) =>
        change(File.ReadAllText(Path.Combine(GeneratorHarness.PresetsFolder, "tiny-enfr.xlm.json")));

    private static string Edit(Action<JsonObject> change)
    {
        var preset = JsonNode.Parse(File.ReadAllText(Path.Combine(GeneratorHarness.PresetsFolder, "tiny-enfr.xlm.json")))!.AsObject();
        change(preset);
        return preset.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static string ClassName(string presetPath)
    {
        using var preset = JsonDocument.Parse(File.ReadAllText(presetPath));
        return ModelPreset.Identifier(preset.RootElement.GetProperty("name").GetString()!);
    }

    private static object? Constant(INamedTypeSymbol type, string name)
    {
        var field = Assert.IsAssignableFrom<IFieldSymbol>(Assert.Single(type.GetMembers(name)));
        Assert.True(field.IsConst, $"{name} is const");
        return field.ConstantValue;
    }
}
