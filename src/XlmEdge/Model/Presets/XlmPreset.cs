namespace XlmEdge;

/// <summary>
/// A known XLM checkpoint: a name and a <see cref="Geometry"/>. The instances live in
/// <see cref="XlmPresets"/>, which the source generator writes from the *.xlm.json files next to
/// this one, together with an unrolled forward pass per preset.
/// </summary>
public sealed class XlmPreset
{
    internal XlmPreset(string name, string? hubId, string description, bool isTestFixture, XlmGeometry geometry)
    {
        Name = name;
        HubId = hubId;
        Description = description;
        IsTestFixture = isTestFixture;
        Geometry = geometry;
    }

    /// <summary>The checkpoint's short name, e.g. <c>xlm-mlm-enfr-1024</c>.</summary>
    public string Name { get; }
    /// <summary>The Hugging Face hub id, or null for a geometry that is not published (a test fixture).</summary>
    public string? HubId { get; }
    /// <summary>One line about the checkpoint (licence, provenance); may be empty.</summary>
    public string Description { get; }
    /// <summary>Whether this is the geometry of a test fixture rather than of a released checkpoint.</summary>
    internal bool IsTestFixture { get; }
    /// <summary>The checkpoint's geometry.</summary>
    public XlmGeometry Geometry { get; }

    /// <summary>Whether <paramref name="config"/> has exactly this geometry.</summary>
    public bool Matches(XlmConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Geometry.Equals(Geometry);
    }

    /// <inheritdoc/>
    public override string ToString() => HubId is null ? Name : $"{Name} ({HubId})";
}
