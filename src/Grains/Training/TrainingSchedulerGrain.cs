using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Training;

/// <summary>
/// See <see cref="ITrainingSchedulerGrain"/>. One activation per tenant serialises the tenant's pumps, and the
/// slot count and the promotion happen in one statement, so the quota holds whichever silo pumps.
/// </summary>
public sealed class TrainingSchedulerGrain(TenantDatabase database, AccessGuard guard, TenantSql tenantSql, AuditSql auditSql,
    TrainingSql trainingSql) : Grain, ITrainingSchedulerGrain
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<TrainingJobView>> ListAsync(string? status, int limit)
    {
        var tenantKey = this.GetPrimaryKeyString();
        var tenantId = (await guard.AuthorizeAsync(tenantKey, Permissions.TrainingRead,
            new AuditEvent("data_access", "training_queue", tenantKey, "read"))).TenantId;
        if (status is not null && !TrainingJobGrain.Transitions.ContainsKey(status))
        {
            throw PhantomException.Invalid($"status is one of {string.Join(", ", TrainingJobGrain.Transitions.Keys)}.", "status");
        }

        if (limit is < 1 or > 500)
        {
            throw PhantomException.Invalid("limit is 1 to 500.", "limit");
        }

        return await database.InTenantAsync(tenantId, async (_, transaction) =>
            (IReadOnlyList<TrainingJobView>)await trainingSql.ListAsync(transaction, status, limit));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Guid>> PumpAsync()
    {
        var tenantKey = this.GetPrimaryKeyString();
        var audit = new AuditEvent("training", "training_queue", tenantKey, "schedule");
        var (caller, tenantId) = await guard.AuthorizeAsync(tenantKey, Permissions.TrainingRun, audit);
        var scheduled = await database.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            var tenant = await tenantSql.LoadAsync(connection, transaction) ?? throw PhantomException.NotFound("tenant", tenantKey);
            var scheduled = await trainingSql.ScheduleNextAsync(transaction, tenant.EffectiveQuotas[Quotas.ConcurrentTrainingJobs]);
            if (scheduled.Count > 0)
            {
                await auditSql.RecordAsync(connection, transaction, tenantId, "system:training-scheduler", caller.Client,
                    audit.As(AuditEvent.Success, new { scheduled }), eventIdSuffix: ":schedule");
            }

            return (IReadOnlyList<Guid>)scheduled;
        });

        // Built-in jobs start themselves in their own activation. Not awaited: the job that asked for this pump
        // may be one of them, still in its call, and waiting for it here would deadlock; a start lost with a silo
        // is redone by the watchdog.
        foreach (var jobId in scheduled)
        {
            GrainFactory.TrainingJob(tenantKey, jobId).StartAsync().Ignore();
        }

        return scheduled;
    }
}
