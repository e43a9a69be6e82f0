using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Diagnostics;

namespace PhantomMl.Grains.Maintenance;

/// <summary>
/// Keeps the time-partitioned tables (inference_jobs monthly, audit_logs daily, agent_executions monthly)
/// partitioned ahead of time and retires expired partitions, through the SQL functions of migration 0009.
/// Every step is idempotent, so a pass interrupted by a silo failure is completed by the next one.
/// </summary>
public sealed partial class PartitionMaintainer(
    MaintenanceSql sql,
    IOptions<PartitionMaintenanceOptions> options,
    TimeProvider time,
    ILogger<PartitionMaintainer> logger)
{
    /// <summary>Runs one pass at the current time.</summary>
    public Task<PartitionMaintenanceReport> RunAsync(CancellationToken cancellationToken = default) =>
        RunAsync(time.GetUtcNow(), cancellationToken);

    /// <summary>Runs one pass as if the time were <paramref name="now"/>.</summary>
    public async Task<PartitionMaintenanceReport> RunAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var settings = options.Value;
        var created = new List<string>();
        var dropped = new List<string>();
        var today = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        var thisMonth = new DateTimeOffset(today.Year, today.Month, 1, 0, 0, 0, TimeSpan.Zero);

        for (var month = 0; month <= settings.InferenceMonthsAhead; month++)
        {
            await EnsureMonthAsync("inference_jobs", thisMonth.AddMonths(month), created, cancellationToken);
        }

        for (var month = 0; month <= settings.AgentExecutionMonthsAhead; month++)
        {
            await EnsureMonthAsync("agent_executions", thisMonth.AddMonths(month), created, cancellationToken);
        }

        for (var day = 0; day <= settings.AuditDaysAhead; day++)
        {
            var start = today.AddDays(day);
            await EnsureAsync("audit_logs", $"audit_logs_y{start:yyyy}m{start:MM}d{start:dd}", start, start.AddDays(1), created, cancellationToken);
        }

        var auditCutoff = today.AddDays(-settings.AuditRetentionDays);
        dropped.AddRange(await DropBeforeAsync("inference_jobs", thisMonth.AddMonths(-settings.InferenceRetentionMonths), cancellationToken));
        dropped.AddRange(await DropBeforeAsync("agent_executions", thisMonth.AddMonths(-settings.AgentExecutionRetentionMonths), cancellationToken));
        // Audit rows go when their own retention_until has passed (the tenant's frameworks decide it), and a day's
        // partition only once every row in it has expired; both are recorded in audit_retention_log.
        var expired = await sql.ExpireAuditRowsAsync(now, settings.AuditExpiryBatch, cancellationToken);
        foreach (var name in await sql.DropExpiredAuditPartitionsAsync(now, cancellationToken))
        {
            LogDropped(name, "audit_logs", now);
            dropped.Add(name);
        }

        var forgotten = await sql.ForgetAuditEventIdsAsync(auditCutoff, cancellationToken);

        PhantomInstruments.PartitionsCreated.Add(created.Count);
        PhantomInstruments.PartitionsDropped.Add(dropped.Count);
        LogPass(created.Count, dropped.Count, forgotten, expired);
        return new PartitionMaintenanceReport(now, created, dropped, forgotten, expired);
    }

    private Task EnsureMonthAsync(string parent, DateTimeOffset start, List<string> created, CancellationToken cancellationToken) =>
        EnsureAsync(parent, $"{parent}_y{start:yyyy}m{start:MM}", start, start.AddMonths(1), created, cancellationToken);

    private async Task EnsureAsync(
        string parent, string partition, DateTimeOffset from, DateTimeOffset to, List<string> created, CancellationToken cancellationToken)
    {
        if (await sql.EnsureRangePartitionAsync(parent, partition, from, to, cancellationToken))
        {
            LogCreated(partition, parent, from, to);
            created.Add(partition);
        }
    }

    private async Task<List<string>> DropBeforeAsync(string parent, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var dropped = await sql.DropRangePartitionsBeforeAsync(parent, cutoff, cancellationToken);
        foreach (var name in dropped)
        {
            LogDropped(name, parent, cutoff);
        }

        return dropped;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created partition {Partition} of {Table} for [{From:o}, {To:o})")]
    private partial void LogCreated(string partition, string table, DateTimeOffset from, DateTimeOffset to);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped expired partition {Partition} of {Table} (expired at {Cutoff:o})")]
    private partial void LogDropped(string partition, string table, DateTimeOffset cutoff);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Partition maintenance pass: {CreatedCount} created, {DroppedCount} dropped, {ForgottenCount} audit event ids forgotten, "
            + "{ExpiredCount} expired audit rows removed")]
    private partial void LogPass(int createdCount, int droppedCount, long forgottenCount, long expiredCount);
}
