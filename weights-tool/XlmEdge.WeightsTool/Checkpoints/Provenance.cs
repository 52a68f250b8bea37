using System.Text;
using System.Text.RegularExpressions;

namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>
/// What a packed file says about where the model comes from, by GGUF convention:
/// <c>general.name</c>, <c>general.license</c>, and <c>general.source.huggingface.repository</c>
/// or <c>general.source.url</c>. Nothing here comes from the checkpoint folder's own name, so
/// renaming the folder does not change the file or its content hash.
/// </summary>
internal sealed partial record Provenance(string? Name, string? License, string? Repository, string? Url)
{
    private const long MaxCardBytes = 1 << 20;

    /// <summary>
    /// The name from <paramref name="nameOption"/>, else config.json's <c>_name_or_path</c>; the
    /// licence from <paramref name="licenseOption"/>, else the model card's (README.md front
    /// matter, <c>license:</c>). A name that is a Hugging Face id (owner/name) also gives the
    /// repository, a URL gives the source URL. What is missing is left unset with a warning.
    /// </summary>
    public static Provenance Resolve(string? nameOption, string? licenseOption, string? configNameOrPath, string directory, Action<string> warn)
    {
        string? name = null, repository = null, url = null;
        string? source = nameOption ?? configNameOrPath;
        if (source is not null)
        {
            source = source.Trim();
            if (Uri.TryCreate(source, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            {
                url = source;
                name = uri.Segments.Select(s => s.Trim('/')).LastOrDefault(s => s.Length > 0) ?? uri.Host;
            }
            else if (HubId().IsMatch(source))
            {
                repository = source;
                name = source[(source.IndexOf('/') + 1)..];
            }
            else
            {
                // a local path (config.json records the folder a model was saved from): its last part
                name = Path.GetFileName(Path.TrimEndingDirectorySeparator(source));
            }
            if (name.Length == 0)
                name = null;
        }
        if (name is null)
            warn("warning: no model name (no --name, and config.json has no _name_or_path): general.name is left unset; set it with --name");

        string? license = licenseOption ?? CardLicense(Path.Combine(directory, "README.md"));
        if (license is null)
            warn("warning: no licence (no --license, and no license: in README.md's front matter): general.license is left unset; set it with --license");
        return new Provenance(name, license, repository, url);
    }

    /// <summary>The <c>license:</c> of a Hugging Face model card's YAML front matter, or null.</summary>
    internal static string? CardLicense(string cardPath)
    {
        if (!File.Exists(cardPath))
            return null;
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(InputFiles.ReadLimited(cardPath, MaxCardBytes, "a model card"));
        }
        catch (DecoderFallbackException)
        {
            throw new ModelFileException("README.md (the model card) is not valid UTF-8");
        }
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        if (lines.Length == 0 || lines[0].TrimEnd() != "---")
            return null;
        for (int i = 1; i < lines.Length && lines[i].TrimEnd() != "---"; i++)
        {
            var match = LicenseLine().Match(lines[i]);
            if (match.Success)
            {
                string value = match.Groups[1].Value.Trim().Trim('"', '\'').Trim();
                return value.Length > 0 ? value : null;
            }
        }
        return null;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    private static partial Regex HubId();

    [GeneratedRegex(@"^license:\s*([^#]*?)\s*(#.*)?$")]
    private static partial Regex LicenseLine();
}
