namespace PhantomMl.Grains.Maintenance;

/// <summary>The orphaned-artifact sweep. Section <c>Phantom:ArtifactSweep</c>.</summary>
public sealed class ArtifactSweepOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:ArtifactSweep";

    /// <summary>How often the sweep runs. Default 6 hours.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>
    /// How old an unreferenced object must be before it is deleted: longer than any upload takes (an upload's object
    /// exists before its row commits). Default 24 hours.
    /// </summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromHours(24);
}
