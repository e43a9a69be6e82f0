using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Audit;

/// <summary>
/// See <see cref="IAuditSweepGrain"/>. A reminder wakes it wherever the cluster places it; it asks each tenant's chain
/// grain to seal what waits, then to sign a digest for each tenant whose last digest is older than
/// <see cref="AuditOptions.DigestPeriod"/>. Each tenant's work is its own grain's, so tenants seal in parallel.
/// </summary>
public sealed partial class AuditSweepGrain(
    AuditChainSql chainSql,
    AccessGuard guard,
    IReminderTable reminders,
    IOptions<AuditOptions> options,
    TimeProvider time,
    ILogger<AuditSweepGrain> logger) : Grain, IAuditSweepGrain, IRemindable
{
    private const string ReminderName = "audit-sweep";
    private const int TenantsPerPass = 10_000;
    private const int Parallelism = 16;

    /// <inheritdoc />
    public Task EnsureScheduledAsync() => Reminders.EnsureAsync(this, reminders, ReminderName, options.Value.SealInterval);

    /// <inheritdoc />
    public async Task<int> RunAsync()
    {
        await guard.AuthorizePlatformAsync(Permissions.ClusterOperate, new AuditEvent("system", "audit_sweep", "cluster", "run"));
        return await SweepAsync();
    }

    /// <inheritdoc />
    public Task ReceiveReminder(string reminderName, TickStatus status) => SweepAsync();

    private async Task<int> SweepAsync()
    {
        var sealedRows = 0;
        // On this activation's scheduler, in chunks: grain calls are made from the grain's context.
        foreach (var chunk in (await chainSql.TenantsToSealAsync(TenantsPerPass)).Chunk(Parallelism))
        {
            sealedRows += (await Task.WhenAll(chunk.Select(tenant => Guarded(tenant, () => GrainFactory.AuditChain(tenant).SealAsync())))).Sum();
        }

        var due = await chainSql.TenantsToDigestAsync(time.GetUtcNow() - options.Value.DigestPeriod, TenantsPerPass);
        foreach (var chunk in due.Chunk(Parallelism))
        {
            await Task.WhenAll(chunk.Select(tenant => Guarded(tenant, async () =>
            {
                await GrainFactory.AuditChain(tenant).CreateDigestAsync();
                return 0;
            })));
        }

        LogSwept(sealedRows, due.Count);
        return sealedRows;
    }

    private async Task<int> Guarded(Guid tenantId, Func<Task<int>> work)
    {
        try
        {
            return await work();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogTenantFailed(e, tenantId);
            return 0;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Audit sweep: {SealedRows} rows sealed, {Digests} tenants due a digest")]
    private partial void LogSwept(int sealedRows, int digests);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit sweep could not seal or sign for tenant {TenantId}")]
    private partial void LogTenantFailed(Exception exception, Guid tenantId);
}
