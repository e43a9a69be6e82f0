using Microsoft.Extensions.Options;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Maintenance;

/// <summary>
/// See <see cref="IArtifactSweepGrain"/>. Like partition maintenance, a PostgreSQL-persisted reminder makes one
/// silo at a time do it, wherever the grain lives. A sweep that deleted something leaves a platform audit row.
/// </summary>
public sealed class ArtifactSweepGrain(ArtifactSweeper sweeper, IOptions<ArtifactSweepOptions> options, AccessGuard guard, AuditSql auditSql,
    IReminderTable reminders)
    : Grain, IArtifactSweepGrain, IRemindable
{
    private const string ReminderName = "artifact-sweep";
    private const string SystemUser = "system:artifact-sweep";

    /// <inheritdoc />
    public Task EnsureScheduledAsync() => Reminders.EnsureAsync(this, reminders, ReminderName, options.Value.Interval);

    /// <inheritdoc />
    public async Task<ArtifactSweepReport> RunAsync(TimeSpan? olderThan)
    {
        var caller = await guard.AuthorizePlatformAsync(Permissions.ClusterOperate, Audit(AuditEvent.Denied, null));
        if (olderThan < TimeSpan.Zero)
        {
            throw PhantomException.Invalid("The grace period must not be negative.", "olderThanSeconds");
        }

        return await SweepAsync(olderThan ?? options.Value.Grace, caller.UserId, caller.Client);
    }

    /// <inheritdoc />
    public Task ReceiveReminder(string reminderName, TickStatus status) =>
        SweepAsync(options.Value.Grace, SystemUser, new ClientDetails(Guid.CreateVersion7().ToString(), null, null, null));

    private async Task<ArtifactSweepReport> SweepAsync(TimeSpan grace, string userId, ClientDetails client)
    {
        var report = await sweeper.RunAsync(grace);
        if (report.Deleted.Count > 0)
        {
            await auditSql.RecordAloneAsync(PlatformTenant.Id, userId, client,
                Audit(AuditEvent.Success, new { report.Examined, report.Deleted, grace }));
        }

        return report;
    }

    private static AuditEvent Audit(string result, object? details) => new("system", "artifacts", "cluster", "sweep-orphans", result, details);
}
