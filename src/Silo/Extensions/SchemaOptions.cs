namespace PhantomMl.Silo.Extensions;

/// <summary>When the schema is migrated. Section <c>Phantom:Schema</c>.</summary>
public sealed class SchemaOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Schema";

    /// <summary>
    /// Apply pending migrations when the silo starts. Default false (production migrates with the
    /// explicit <c>migrate</c> command); true in appsettings.Development.json.
    /// </summary>
    public bool ApplyOnStartup { get; set; }
}
