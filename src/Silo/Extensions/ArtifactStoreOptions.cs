namespace PhantomMl.Silo.Extensions;

/// <summary>The folder artifact store, used when no S3 store is configured. Section <c>Phantom:Artifacts</c>.</summary>
public sealed class ArtifactStoreOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Artifacts";

    /// <summary>The folder; default <c>artifacts</c> under the content root (scripts: <c>.phantom/artifacts</c>). Suits one machine only.</summary>
    public string? Root { get; set; }
}
