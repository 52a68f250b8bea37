namespace XlmEdge.Tests;

/// <summary>Paths to the golden data in tests/fixtures, found by walking up from the test binary.</summary>
internal static class Fixtures
{
    public static string Root { get; } = FindRoot();

    public static string TinyEnfr => Path.Combine(Root, "tiny-enfr");

    public static string TokenizerGoldens => Path.Combine(Root, "tokenizer", "goldens.jsonl");

    /// <summary>The xlm-family fixtures (en-de-ro tokenizer goldens, tiny-enro, tiny-clm-enfr).</summary>
    public static string Family => Path.Combine(Root, "xlm-family");

    public static string FamilyTokenizer => Path.Combine(Family, "tokenizer");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures");
            if (Directory.Exists(candidate))
                return candidate;
        }
        throw new DirectoryNotFoundException("tests/fixtures not found above " + AppContext.BaseDirectory);
    }
}
