using Npgsql;
using PhantomMl.Grains.Adapters.Migrations;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Schema;

public sealed class PostgreSqlSchemaTests
{
    private static readonly string[] DesignTables =
    [
        "tenants", "tenant_users", "tenant_resource_usage", "models", "model_versions", "model_lineage", "model_artifacts",
        "training_jobs", "training_experiments", "inference_jobs", "agents", "agent_executions", "audit_logs",
        "data_lineage", "compliance_reports",
    ];

    [Fact]
    public async Task Migrations_apply_on_an_empty_database_and_reapply_as_no_ops()
    {
        await using var databases = await MigratedDatabases.CreateAsync("empty", migrate: false);
        var migrator = databases.CreateMigrator();

        var first = await migrator.MigrateAsync(TestContext.Current.CancellationToken);
        var second = await migrator.MigrateAsync(TestContext.Current.CancellationToken);

        var postgres = first.Single(r => r.Store == "postgresql");
        Assert.Equal(MigrationScript.Load("postgresql").Select(s => s.Name), postgres.Applied);
        Assert.Equal(MigrationScript.Load("clickhouse").Select(s => s.Name), first.Single(r => r.Store == "clickhouse").Applied);
        Assert.All(second, result => Assert.Empty(result.Applied));
        Assert.All(await migrator.GetPendingAsync(TestContext.Current.CancellationToken), pending => Assert.Empty(pending.Value));
        Assert.Equal(postgres.Applied.Count, await ScalarAsync<long>(databases.OwnerSource, "SELECT count(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task Concurrent_migrators_apply_every_script_exactly_once()
    {
        await using var databases = await MigratedDatabases.CreateAsync("race", migrate: false);
        // Separate pools, as separate silos would have.
        var sources = Enumerable.Range(0, 4).Select(_ => NpgsqlDataSource.Create(databases.PostgreSqlOwner)).ToList();
        try
        {
            var runs = await Task.WhenAll(sources.Select(source => databases.CreateMigrator(source).MigrateAsync(TestContext.Current.CancellationToken)));

            var appliedPerStore = runs.SelectMany(r => r).GroupBy(r => r.Store).ToDictionary(g => g.Key, g => g.Sum(r => r.Applied.Count));
            Assert.Equal(MigrationScript.Load("postgresql").Count, appliedPerStore["postgresql"]);
            Assert.Equal(MigrationScript.Load("clickhouse").Count, appliedPerStore["clickhouse"]);
        }
        finally
        {
            foreach (var source in sources)
            {
                await source.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_migration_changed_after_it_was_applied_stops_the_run()
    {
        await using var databases = await MigratedDatabases.CreateAsync("tamper");
        await TenantSql.ExecuteAsync(databases.OwnerSource, tenant: null, "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => databases.CreateMigrator().MigrateAsync(TestContext.Current.CancellationToken));
        Assert.Contains("changed after it was applied", error.Message);
    }

    [Fact]
    public async Task A_migration_applied_from_an_earlier_text_that_differs_in_comments_only_is_accepted_and_its_checksum_recorded()
    {
        await using var databases = await MigratedDatabases.CreateAsync("revised");
        var script = MigrationScript.Load("postgresql").First(s => s.SupersededChecksums.Count > 0);
        var earlier = script.SupersededChecksums.First();
        await TenantSql.ExecuteAsync(databases.OwnerSource, tenant: null, $"UPDATE schema_migrations SET checksum = '{earlier}' WHERE version = {script.Version}");

        await databases.CreateMigrator().MigrateAsync(TestContext.Current.CancellationToken);

        Assert.Equal([script.Checksum], await TenantSql.ListAsync(databases.OwnerSource, tenant: null,
            $"SELECT checksum FROM schema_migrations WHERE version = {script.Version}"));
    }

    [Fact]
    public async Task Every_design_table_exists_with_its_partitions_keys_and_indexes()
    {
        await using var databases = await MigratedDatabases.CreateAsync("design");
        var source = databases.OwnerSource;

        var tables = await ListAsync(source, "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND relnamespace = 'public'::regnamespace AND NOT relispartition");
        Assert.All(DesignTables, table => Assert.Contains(table, tables));

        Assert.Equal(64, await PartitionCountAsync(source, "models"));
        Assert.Equal(16, await PartitionCountAsync(source, "training_jobs"));
        Assert.Equal(16, await PartitionCountAsync(source, "agents"));
        foreach (var timeTable in new[] { "inference_jobs", "audit_logs", "agent_executions" })
        {
            Assert.Equal("r", await ScalarAsync<string>(source, $"SELECT partstrat::text FROM pg_partitioned_table WHERE partrelid = '{timeTable}'::regclass"));
            Assert.Contains($"{timeTable}_default", await ListAsync(source, $"SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = '{timeTable}'::regclass"));
        }

        // Keys contain the partition columns (design correction D1).
        Assert.Equal("PRIMARY KEY (tenant_id, id)", await PrimaryKeyAsync(source, "models"));
        Assert.Equal("PRIMARY KEY (created_at, id)", await PrimaryKeyAsync(source, "inference_jobs"));
        Assert.Equal("PRIMARY KEY (\"timestamp\", id)", await PrimaryKeyAsync(source, "audit_logs"));
        Assert.Equal("PRIMARY KEY (created_at, id)", await PrimaryKeyAsync(source, "agent_executions"));

        // The design's indexes: partial, covering, tenant + time.
        var indexes = await ListAsync(source, "SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public'");
        Assert.Contains(indexes, i => i.StartsWith("idx_models_tenant_status ", StringComparison.Ordinal) && i.Contains("WHERE"));
        Assert.Contains(indexes, i => i.StartsWith("idx_models_metadata_covering ", StringComparison.Ordinal) && i.Contains("INCLUDE (name, version, accuracy, created_at)"));
        Assert.Contains(indexes, i => i.StartsWith("idx_active_training_jobs ", StringComparison.Ordinal) && i.Contains("WHERE"));
        Assert.Contains(indexes, i => i.StartsWith("idx_inference_tenant_time ", StringComparison.Ordinal) && i.Contains("created_at DESC"));

        var enums = await ListAsync(source, "SELECT typname FROM pg_type WHERE typtype = 'e'");
        Assert.All(
            new[] { "model_status_enum", "training_status_enum", "experiment_status_enum", "lineage_type_enum", "inference_status_enum",
                    "execution_status_enum", "audit_event_type_enum", "audit_result_enum", "tenant_status_enum", "isolation_level_enum", "user_status_enum" },
            type => Assert.Contains(type, enums));
    }

    [Fact]
    public async Task Agent_executions_accept_a_pending_execution_without_started_at()
    {
        await using var databases = await MigratedDatabases.CreateAsync("agents");
        var tenant = await TenantSql.CreateTenantAsync(databases.AppSource);
        await TenantSql.ExecuteAsync(databases.AppSource, tenant, $$"""
            INSERT INTO agents (id, tenant_id, name, version, agent_type, config, created_by)
            VALUES ('00000000-0000-0000-0000-0000000000a1', '{{tenant}}', 'a', '1', 't', '{}', 'test');
            INSERT INTO agent_executions (tenant_id, agent_id, context) VALUES ('{{tenant}}', '00000000-0000-0000-0000-0000000000a1', '{}');
            """);

        Assert.Equal("pending", await TenantSql.ScalarAsync<string>(databases.AppSource, tenant, "SELECT status::text FROM agent_executions WHERE started_at IS NULL"));
    }

    [Fact]
    public async Task Audit_ingestion_is_idempotent_per_tenant_and_event_id()
    {
        await using var databases = await MigratedDatabases.CreateAsync("audit");
        var tenantA = await TenantSql.CreateTenantAsync(databases.AppSource);
        var tenantB = await TenantSql.CreateTenantAsync(databases.AppSource);

        Assert.True(await TenantSql.RecordAuditAsync(databases.AppSource, tenantA, "evt-1"));
        Assert.False(await TenantSql.RecordAuditAsync(databases.AppSource, tenantA, "evt-1"));
        // The same id from another tenant is another event: one tenant cannot suppress another's audit.
        Assert.True(await TenantSql.RecordAuditAsync(databases.AppSource, tenantB, "evt-1"));

        Assert.Equal(1L, await TenantSql.ScalarAsync<long>(databases.AppSource, tenantA, "SELECT count(*) FROM audit_logs WHERE event_id = 'evt-1'"));
        Assert.Equal(1L, await TenantSql.ScalarAsync<long>(databases.AppSource, tenantB, "SELECT count(*) FROM audit_logs WHERE event_id = 'evt-1'"));
    }

    private static Task<T> ScalarAsync<T>(NpgsqlDataSource source, string sql) => TenantSql.ScalarAsync<T>(source, tenant: null, sql);

    private static Task<List<string>> ListAsync(NpgsqlDataSource source, string sql) => TenantSql.ListAsync(source, tenant: null, sql);

    private static Task<long> PartitionCountAsync(NpgsqlDataSource source, string table) =>
        ScalarAsync<long>(source, $"SELECT count(*) FROM pg_inherits WHERE inhparent = '{table}'::regclass");

    private static Task<string> PrimaryKeyAsync(NpgsqlDataSource source, string table) =>
        ScalarAsync<string>(source, $"SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '{table}'::regclass AND contype = 'p'");
}
