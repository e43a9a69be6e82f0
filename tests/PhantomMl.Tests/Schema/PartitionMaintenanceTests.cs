using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Maintenance;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Schema;

public sealed class PartitionMaintenanceTests
{
    private static readonly DateTimeOffset March15 = new(2031, 3, 15, 10, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_pass_creates_partitions_ahead_and_a_second_pass_creates_none()
    {
        await using var databases = await MigratedDatabases.CreateAsync("ahead");
        var maintainer = Maintainer(databases, new PartitionMaintenanceOptions());

        var first = await maintainer.RunAsync(March15, TestContext.Current.CancellationToken);
        var second = await maintainer.RunAsync(March15, TestContext.Current.CancellationToken);

        Assert.Equal(["inference_jobs_y2031m03", "inference_jobs_y2031m04", "inference_jobs_y2031m05", "inference_jobs_y2031m06"],
            first.Created.Where(name => name.StartsWith("inference_jobs", StringComparison.Ordinal)));
        Assert.Equal(4, first.Created.Count(name => name.StartsWith("agent_executions_y2031", StringComparison.Ordinal)));
        var auditDays = first.Created.Where(name => name.StartsWith("audit_logs", StringComparison.Ordinal)).ToList();
        Assert.Equal(15, auditDays.Count);
        Assert.Equal("audit_logs_y2031m03d15", auditDays[0]);
        Assert.Equal("audit_logs_y2031m03d29", auditDays[^1]);
        Assert.Empty(second.Created);
        Assert.Empty(second.Dropped);

        var bound = await TenantSql.ScalarAsync<string>(databases.OwnerSource, tenant: null,
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'inference_jobs_y2031m04'");
        Assert.Equal("FOR VALUES FROM ('2031-04-01 00:00:00+00') TO ('2031-05-01 00:00:00+00')", bound);
    }

    [Fact]
    public async Task A_row_dated_far_in_the_future_lands_in_the_default_partition()
    {
        await using var databases = await MigratedDatabases.CreateAsync("future");
        await Maintainer(databases, new PartitionMaintenanceOptions()).RunAsync(TestContext.Current.CancellationToken);
        var tenant = await TenantSql.CreateTenantAsync(databases.AppSource);

        await TenantSql.ExecuteAsync(databases.AppSource, tenant, $$"""
            INSERT INTO inference_jobs (tenant_id, model_id, model_version, input_data, created_at)
            VALUES ('{{tenant}}', gen_random_uuid(), '1', '{"x": 1}', '2099-07-01T12:00:00Z')
            """);
        Assert.True(await TenantSql.RecordAuditAsync(databases.AppSource, tenant, "far-future", new DateTimeOffset(2099, 7, 1, 0, 0, 0, TimeSpan.Zero)));

        Assert.Equal("inference_jobs_default", await TenantSql.ScalarAsync<string>(databases.AppSource, tenant, "SELECT tableoid::regclass::text FROM inference_jobs"));
        Assert.Equal("audit_logs_default", await TenantSql.ScalarAsync<string>(databases.AppSource, tenant, "SELECT tableoid::regclass::text FROM audit_logs"));
    }

    [Fact]
    public async Task Creating_a_partition_moves_its_rows_out_of_the_default_partition()
    {
        await using var databases = await MigratedDatabases.CreateAsync("move");
        var tenant = await TenantSql.CreateTenantAsync(databases.AppSource);
        var at = March15.AddDays(3);
        Assert.True(await TenantSql.RecordAuditAsync(databases.AppSource, tenant, "before-partition", at));
        Assert.Equal("audit_logs_default", await TenantSql.ScalarAsync<string>(databases.AppSource, tenant, "SELECT tableoid::regclass::text FROM audit_logs"));

        var report = await Maintainer(databases, new PartitionMaintenanceOptions()).RunAsync(March15, TestContext.Current.CancellationToken);

        Assert.Contains("audit_logs_y2031m03d18", report.Created);
        Assert.Equal("audit_logs_y2031m03d18", await TenantSql.ScalarAsync<string>(databases.AppSource, tenant, "SELECT tableoid::regclass::text FROM audit_logs"));
        Assert.Equal(1L, await TenantSql.ScalarAsync<long>(databases.AppSource, tenant, "SELECT count(*) FROM audit_logs"));
        // The moved row still obeys the idempotency key.
        Assert.False(await TenantSql.RecordAuditAsync(databases.AppSource, tenant, "before-partition", at));
    }

    [Fact]
    public async Task Expired_partitions_are_dropped_with_their_audit_event_ids()
    {
        await using var databases = await MigratedDatabases.CreateAsync("expire");
        var options = new PartitionMaintenanceOptions { InferenceRetentionMonths = 2, AgentExecutionRetentionMonths = 2, AuditRetentionDays = 30 };
        var maintainer = Maintainer(databases, options);
        var tenant = await TenantSql.CreateTenantAsync(databases.AppSource, """{"audit_retention_days": 30}""");
        await maintainer.RunAsync(March15, TestContext.Current.CancellationToken);
        Assert.True(await TenantSql.RecordAuditAsync(databases.AppSource, tenant, "old-event", March15.AddHours(1)));

        var later = await maintainer.RunAsync(March15.AddMonths(3), TestContext.Current.CancellationToken);

        // June 15: inference keeps April onwards (2 months before June), so March goes.
        Assert.Contains("inference_jobs_y2031m03", later.Dropped);
        Assert.DoesNotContain("inference_jobs_y2031m04", later.Dropped);
        Assert.Contains("audit_logs_y2031m03d15", later.Dropped);
        Assert.Equal(1, later.ForgottenAuditEventIds);
        Assert.Equal(0L, await TenantSql.ScalarAsync<long>(databases.AppSource, tenant, "SELECT count(*) FROM audit_logs"));
        Assert.Equal(0L, await TenantSql.ScalarAsync<long>(databases.OwnerSource, tenant: null, "SELECT count(*) FROM pg_class WHERE relname = 'inference_jobs_y2031m03'"));
    }

    [Fact]
    public async Task Audit_rows_go_only_after_their_own_retention_and_a_partition_only_when_every_row_expired()
    {
        await using var databases = await MigratedDatabases.CreateAsync("retain");
        var maintainer = Maintainer(databases, new PartitionMaintenanceOptions());
        var shortLived = await TenantSql.CreateTenantAsync(databases.AppSource, """{"audit_retention_days": 30}""");
        var hipaa = await TenantSql.CreateTenantAsync(databases.AppSource, """{"audit_retention_days": 30}""", "{HIPAA}");
        await maintainer.RunAsync(March15, TestContext.Current.CancellationToken);
        Assert.True(await TenantSql.RecordAuditAsync(databases.AppSource, shortLived, "short", March15.AddHours(1)));
        Assert.True(await TenantSql.RecordAuditAsync(databases.AppSource, hipaa, "kept", March15.AddHours(1)));

        // HIPAA's six years win over the tenant's own 30 days.
        var hipaaUntil = await TenantSql.ScalarAsync<DateTime>(databases.AppSource, hipaa, "SELECT retention_until FROM audit_logs");
        Assert.Equal(March15.AddHours(1).AddYears(6).UtcDateTime, hipaaUntil);
        Assert.Equal(["HIPAA"], await TenantSql.ScalarAsync<string[]>(databases.AppSource, hipaa, "SELECT compliance_tags FROM audit_logs"));

        // A day before the short-lived row expires, nothing goes.
        var early = await maintainer.RunAsync(March15.AddDays(30), TestContext.Current.CancellationToken);
        Assert.Equal(0, early.ExpiredAuditRows);
        Assert.Equal(1L, await TenantSql.ScalarAsync<long>(databases.AppSource, shortLived, "SELECT count(*) FROM audit_logs"));

        var later = await maintainer.RunAsync(March15.AddDays(32), TestContext.Current.CancellationToken);
        Assert.Equal(1, later.ExpiredAuditRows);
        Assert.Equal(0L, await TenantSql.ScalarAsync<long>(databases.AppSource, shortLived, "SELECT count(*) FROM audit_logs"));
        Assert.Equal(1L, await TenantSql.ScalarAsync<long>(databases.AppSource, hipaa, "SELECT count(*) FROM audit_logs"));
        // The HIPAA row keeps its day's partition; the removal is on record.
        Assert.DoesNotContain("audit_logs_y2031m03d15", later.Dropped);
        Assert.Equal(1L, await TenantSql.ScalarAsync<long>(databases.AppSource, tenant: null,
            $"SELECT sum(row_count)::bigint FROM audit_retention_log WHERE kind = 'rows' AND name = '{shortLived}'"));
    }

    private static PartitionMaintainer Maintainer(MigratedDatabases databases, PartitionMaintenanceOptions options) =>
        new(new MaintenanceSql(databases.AppSource), Options.Create(options), TimeProvider.System, NullLogger<PartitionMaintainer>.Instance);
}
