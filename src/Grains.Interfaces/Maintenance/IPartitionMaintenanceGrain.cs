
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Maintenance;

/// <summary>
/// The cluster-wide single owner of PostgreSQL time-partition maintenance. One activation exists per
/// cluster (key <see cref="ClusterKey"/>); a reminder wakes it, so it keeps running when silos come and go.
/// </summary>
[ClientCallable]
[Alias("phantomml.maintenance.IPartitionMaintenanceGrain")]
public interface IPartitionMaintenanceGrain : IGrainWithStringKey
{
    /// <summary>The only key in use: maintenance is one job for the whole cluster.</summary>
    const string ClusterKey = "cluster";

    /// <summary>Registers the reminder (idempotent) and runs one maintenance pass.</summary>
    [SiloOnly, Alias("EnsureScheduledAsync")]
    Task<PartitionMaintenanceReport> EnsureScheduledAsync();

    /// <summary>Runs one maintenance pass now.</summary>
    [Alias("RunAsync")]
    Task<PartitionMaintenanceReport> RunAsync();

    /// <summary>Returns the report of the last pass, if any ran since activation.</summary>
    [Alias("GetLastReportAsync")]
    Task<PartitionMaintenanceReport?> GetLastReportAsync();
}

/// <summary>What one maintenance pass did.</summary>
/// <param name="RanAt">When the pass ran.</param>
/// <param name="Created">Partitions created, as table names.</param>
/// <param name="Dropped">Expired partitions detached and dropped.</param>
/// <param name="ForgottenAuditEventIds">Audit event ids (idempotency keys) forgotten after AuditRetentionDays.</param>
/// <param name="ExpiredAuditRows">Audit rows removed because their retention_until had passed.</param>
[GenerateSerializer, Immutable, Alias("phantomml.maintenance.PartitionMaintenanceReport")]
public sealed record PartitionMaintenanceReport(
    DateTimeOffset RanAt,
    IReadOnlyList<string> Created,
    IReadOnlyList<string> Dropped,
    long ForgottenAuditEventIds,
    long ExpiredAuditRows = 0);
