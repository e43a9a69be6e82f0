using System.ComponentModel.DataAnnotations;

namespace PhantomMl.Grains.Maintenance;

/// <summary>The orphaned-artifact sweep. Section <c>Phantom:ArtifactSweep</c>.</summary>
public sealed class ArtifactSweepOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:ArtifactSweep";

    /// <summary>How often the sweep runs. Default 6 hours.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>
    /// How old an unreferenced object must be before it is deleted: longer than any upload takes (an upload's object
    /// exists before its row commits). Default 24 hours.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "365.00:00:00")]
    public TimeSpan Grace { get; set; } = TimeSpan.FromHours(24);
}
