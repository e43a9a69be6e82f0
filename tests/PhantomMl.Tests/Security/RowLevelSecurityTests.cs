using Npgsql;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Security;

/// <summary>
/// What the application role (phantom_app) can and cannot do in SQL, whatever bug the code above it has:
/// the last line of tenant isolation.
/// </summary>
public sealed class RowLevelSecurityTests
{
    private static readonly string[] TenantScopedTables =
    [
        "tenant_users", "tenant_resource_usage", "models", "model_versions", "model_lineage", "model_artifacts", "training_jobs",
        "training_experiments", "inference_jobs", "agents", "agent_executions", "audit_logs", "audit_event_ids", "data_lineage",
        "compliance_reports", "api_keys",
    ];

    [Fact]
    public async Task Without_a_tenant_context_the_application_sees_no_rows_and_with_one_only_that_tenants()
    {
        await using var databases = await MigratedDatabases.CreateAsync("rls");
        var a = await SeedTenantAsync(databases.AppSource);
        var b = await SeedTenantAsync(databases.AppSource);

        foreach (var table in TenantScopedTables.Append("tenants"))
        {
            Assert.Equal(0L, await TenantSql.ScalarAsync<long>(databases.AppSource, tenant: null, $"SELECT count(*) FROM {table}"));
        }

        foreach (var table in new[] { "tenant_users", "models", "training_jobs", "inference_jobs", "agents", "audit_logs", "data_lineage", "compliance_reports" })
        {
            var seen = await TenantSql.ListAsync(databases.AppSource, a, $"SELECT DISTINCT tenant_id::text FROM {table}");
            Assert.Equal([a.ToString()], seen);
        }

        Assert.Equal([a.ToString()], await TenantSql.ListAsync(databases.AppSource, a, "SELECT id::text FROM tenants"));
        Assert.Equal(1L, await TenantSql.ScalarAsync<long>(databases.AppSource, b, "SELECT count(*) FROM models"));
    }

    [Fact]
    public async Task The_application_cannot_write_into_another_tenant_or_escape_row_level_security()
    {
        await using var databases = await MigratedDatabases.CreateAsync("escape");
        var a = await SeedTenantAsync(databases.AppSource);
        var b = await SeedTenantAsync(databases.AppSource);

        // Writing B's row under A's context violates the policy's WITH CHECK.
        var crossWrite = await Assert.ThrowsAsync<PostgresException>(() => TenantSql.ExecuteAsync(databases.AppSource, a,
            $"INSERT INTO data_lineage (tenant_id, resource_id, resource_type, created_by) VALUES ('{b}', 'r', 't', 'x')"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, crossWrite.SqlState);
        // Updating or deleting B's rows under A's context touches nothing.
        Assert.Equal(0, await TenantSql.ExecuteAsync(databases.AppSource, a, $"UPDATE models SET name = 'stolen' WHERE tenant_id = '{b}'"));
        Assert.Equal(0, await TenantSql.ExecuteAsync(databases.AppSource, a, $"DELETE FROM tenant_users WHERE tenant_id = '{b}'"));
        Assert.Equal(1L, await TenantSql.ScalarAsync<long>(databases.AppSource, b, "SELECT count(*) FROM models WHERE name <> 'stolen'"));

        string[] escapes =
        [
            "SELECT count(*) FROM models_p00",                        // partitions are not granted: only the parent's policy applies
            "SELECT count(*) FROM audit_logs_default",
            "ALTER TABLE models DISABLE ROW LEVEL SECURITY",           // not the owner
            "ALTER TABLE models NO FORCE ROW LEVEL SECURITY",
            "DROP POLICY tenant_isolation ON models",
            "SET ROLE phantom_owner",
            "SET ROLE phantom_security",
            $"UPDATE audit_logs SET action = 'rewritten' WHERE tenant_id = '{a}'", // the audit trail is append-only
            $"DELETE FROM audit_logs WHERE tenant_id = '{a}'",
        ];
        foreach (var sql in escapes)
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => TenantSql.ExecuteAsync(databases.AppSource, a, sql));
            Assert.True(error.SqlState is PostgresErrorCodes.InsufficientPrivilege, $"{sql}: {error.SqlState} {error.MessageText}");
        }

        // Turning row security off makes a query that policies would filter fail instead of seeing everything.
        var off = await Assert.ThrowsAsync<PostgresException>(() => TenantSql.ScalarAsync<long>(databases.AppSource, a,
            "SELECT set_config('row_security', 'off', true); SELECT count(*) FROM models"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, off.SqlState);
    }

    [Fact]
    public async Task A_pooled_connection_never_carries_a_tenant_into_the_next_transaction()
    {
        await using var databases = await MigratedDatabases.CreateAsync("pool");
        var tenants = new List<Guid>();
        for (var i = 0; i < 6; i++)
        {
            tenants.Add(await SeedTenantAsync(databases.AppSource));
        }

        // Two physical connections shared by 600 interleaved units of work: every connection serves many tenants.
        await using var smallPool = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(databases.PostgreSql) { MaxPoolSize = 2 }.ConnectionString);
        var leaks = 0;
        var backends = new HashSet<int>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 600), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            Guid? tenant = i % 7 == 6 ? null : tenants[i % tenants.Count];
            var (seen, backend) = await TenantSql.InTransactionAsync(smallPool, tenant, async (connection, transaction) =>
            {
                await using var command = new NpgsqlCommand("SELECT array_agg(DISTINCT tenant_id::text), pg_backend_pid() FROM tenant_users", connection, transaction);
                await using var reader = await command.ExecuteReaderAsync();
                await reader.ReadAsync();
                return (reader.IsDBNull(0) ? [] : reader.GetFieldValue<string[]>(0), reader.GetInt32(1));
            });

            lock (backends)
            {
                backends.Add(backend);
            }

            var expected = tenant is { } id ? new[] { id.ToString() } : [];
            if (!seen.SequenceEqual(expected))
            {
                Interlocked.Increment(ref leaks);
            }
        });

        Assert.Equal(0, leaks);
        Assert.InRange(backends.Count, 1, 2);
    }

    /// <summary>A tenant with a row in the main tenant-scoped tables.</summary>
    private static async Task<Guid> SeedTenantAsync(NpgsqlDataSource source)
    {
        var tenant = await TenantSql.CreateTenantAsync(source);
        await TenantSql.ExecuteAsync(source, tenant, $$"""
            INSERT INTO tenant_users (tenant_id, user_id, email, roles) VALUES ('{{tenant}}', 'u1', 'u1@example.com', ARRAY['viewer']);
            INSERT INTO models (tenant_id, name, model_type, algorithm, created_by) VALUES ('{{tenant}}', 'm', 'classifier', 'fasttree', 'u1');
            INSERT INTO training_jobs (tenant_id, model_id, job_name, config, dataset_uri, created_by) VALUES ('{{tenant}}', gen_random_uuid(), 'j', '{}', 's3://d', 'u1');
            INSERT INTO inference_jobs (tenant_id, model_id, model_version, input_data) VALUES ('{{tenant}}', gen_random_uuid(), '1', '{}');
            INSERT INTO agents (tenant_id, name, version, agent_type, config, created_by) VALUES ('{{tenant}}', 'a', '1', 't', '{}', 'u1');
            INSERT INTO data_lineage (tenant_id, resource_id, resource_type, created_by) VALUES ('{{tenant}}', 'r', 'dataset', 'u1');
            INSERT INTO compliance_reports (tenant_id, framework, report_type, period_start, period_end, generated_by)
                VALUES ('{{tenant}}', 'SOC2', 'access', now() - interval '1 day', now(), 'u1');
            """);
        await TenantSql.RecordAuditAsync(source, tenant, $"seed-{tenant}");
        return tenant;
    }
}
