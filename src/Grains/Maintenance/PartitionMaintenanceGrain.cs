using Microsoft.Extensions.Options;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Maintenance;

/// <summary>
/// See <see cref="IPartitionMaintenanceGrain"/>. A reminder (persisted in PostgreSQL) wakes this grain
/// wherever the cluster places it, so exactly one silo maintains partitions at a time, and the job
/// survives the loss of any silo. The work itself is idempotent: a pass cut short is finished by the next.
/// A pass that created or dropped partitions leaves an audit row in the platform's own tenant.
/// </summary>
public sealed class PartitionMaintenanceGrain(
    IReminderTable reminders,
    PartitionMaintainer maintainer,
    IOptions<PartitionMaintenanceOptions> options,
    AccessGuard guard,
    AuditSql auditSql) : Grain, IPartitionMaintenanceGrain, IRemindable
{
    private const string ReminderName = "partition-maintenance";
    private const string SystemUser = "system:partition-maintenance";
    private PartitionMaintenanceReport? _lastReport;

    /// <inheritdoc />
    public async Task<PartitionMaintenanceReport> EnsureScheduledAsync()
    {
        // Called by every silo as it starts (only silos may call it): it registers the reminder unless it is registered
        // already (so starting silos never postpone it), and runs the same idempotent pass the reminder runs.
        await Reminders.EnsureAsync(this, reminders, ReminderName, options.Value.Interval);
        return await PassAsync(SystemUser, ClientDetails.FromCallContext());
    }

    /// <inheritdoc />
    public async Task<PartitionMaintenanceReport> RunAsync()
    {
        var caller = await guard.AuthorizePlatformAsync(Permissions.ClusterOperate, Audit(AuditEvent.Denied, null));
        return await PassAsync(caller.UserId, caller.Client);
    }

    /// <inheritdoc />
    public async Task<PartitionMaintenanceReport?> GetLastReportAsync()
    {
        await guard.AuthorizePlatformAsync(Permissions.ClusterOperate, new AuditEvent("system", "partitions", "cluster", "read"));
        return _lastReport;
    }

    /// <inheritdoc />
    public Task ReceiveReminder(string reminderName, TickStatus status) =>
        PassAsync(SystemUser, new ClientDetails(Guid.CreateVersion7().ToString(), null, null, null));

    private async Task<PartitionMaintenanceReport> PassAsync(string userId, ClientDetails client)
    {
        _lastReport = await maintainer.RunAsync();
        if (_lastReport.Created.Count > 0 || _lastReport.Dropped.Count > 0)
        {
            await auditSql.RecordAloneAsync(PlatformTenant.Id, userId, client,
                Audit(AuditEvent.Success, new { _lastReport.Created, _lastReport.Dropped, _lastReport.ForgottenAuditEventIds }));
        }

        return _lastReport;
    }

    private static AuditEvent Audit(string result, object? details) =>
        new("system", "partitions", "cluster", "maintain", result, details);
}
