
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Maintenance;

/// <summary>
/// The cluster-wide sweep of orphaned artifact objects: objects no model_artifacts row points at, left by an
/// upload cut off by a crash or a deletion whose object removal failed. One activation per cluster (key
/// <see cref="ClusterKey"/>), woken by a reminder.
/// </summary>
[ClientCallable]
[Alias("phantomml.maintenance.IArtifactSweepGrain")]
public interface IArtifactSweepGrain : IGrainWithStringKey
{
    /// <summary>The only key in use.</summary>
    const string ClusterKey = "cluster";

    /// <summary>Registers the reminder (idempotent).</summary>
    [SiloOnly, Alias("EnsureScheduledAsync")] Task EnsureScheduledAsync();

    /// <summary>
    /// Sweeps now, deleting unreferenced objects last written more than <paramref name="olderThan"/> ago (null: the
    /// configured grace period). A grace shorter than the longest upload could delete an upload still in flight.
    /// </summary>
    [Alias("RunAsync")] Task<ArtifactSweepReport> RunAsync(TimeSpan? olderThan);
}

/// <summary>What one sweep did.</summary>
/// <param name="RanAt">When it ran.</param>
/// <param name="Examined">Objects listed.</param>
/// <param name="Deleted">Object keys deleted as orphans.</param>
/// <param name="TooRecent">Unreferenced objects kept because they may belong to an upload still in flight.</param>
[GenerateSerializer, Immutable, Alias("phantomml.maintenance.ArtifactSweepReport")]
public sealed record ArtifactSweepReport(DateTimeOffset RanAt, long Examined, IReadOnlyList<string> Deleted, long TooRecent);
