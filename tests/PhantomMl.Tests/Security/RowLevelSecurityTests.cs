using Npgsql;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Security;

/// <summary>
/// What the application role (phantom_app) can and cannot do in SQL, whatever bug the code above it has:
/// the last line of tenant isolation.
/// </summary>
public sealed class RowLevelSecurityTests
{
    [Fact]
    public async Task Without_a_tenant_context_the_application_sees_no_rows_and_with_one_only_that_tenants()
    {
        await using var databases = await MigratedDatabases.CreateAsync("rls");
        var a = await SeedTenantAsync(databases.AppSource);
        var b = await SeedTenantAsync(databases.AppSource);

        // Every table under row-level security, from the catalog: a table added later without a seed row here fails this test.
        var tables = await TenantState.TenantScopedTablesAsync(databases);
        foreach (var table in tables.Append("tenants"))
        {
            Assert.Equal(0L, await TenantSql.ScalarAsync<long>(databases.AppSource, tenant: null, $"SELECT count(*) FROM {table}"));
        }

        foreach (var table in tables)
        {
            var seen = await TenantSql.ListAsync(databases.AppSource, a, $"SELECT DISTINCT tenant_id::text FROM {table}");
            Assert.True(seen.SequenceEqual([a.ToString()]), $"{table}: tenant A sees {string.Join(", ", seen)} (is the table seeded?)");
            Assert.Equal(1L, await TenantSql.ScalarAsync<long>(databases.AppSource, b, $"SELECT count(DISTINCT tenant_id) FROM {table}"));
        }

        Assert.Equal([a.ToString()], await TenantSql.ListAsync(databases.AppSource, a, "SELECT id::text FROM tenants"));
    }

    [Fact]
    public async Task A_row_can_refer_only_to_rows_of_its_own_tenant()
    {
        await using var databases = await MigratedDatabases.CreateAsync("refs");
        var a = await SeedTenantAsync(databases.AppSource);
        var b = await SeedTenantAsync(databases.AppSource);
        // A version of B's without an artifact yet, so that an artifact row for it would otherwise be accepted.
        var bVersion = (await TenantSql.ListAsync(databases.AppSource, b,
            "INSERT INTO model_versions (tenant_id, model_id, version, created_by) SELECT tenant_id, id, '2', 'u1' FROM models WHERE name = 'm' RETURNING id::text")).Single();
        var aModel = (await TenantSql.ListAsync(databases.AppSource, a, "SELECT id::text FROM models WHERE name = 'm'")).Single();
        var bUser = (await TenantSql.ListAsync(databases.AppSource, b, "SELECT id::text FROM tenant_users")).Single();

        // A foreign key on an id alone is checked without row-level security: these would have pointed into tenant B.
        string[] crossReferences =
        [
            $"INSERT INTO model_artifacts (model_version_id, tenant_id, model_id, artifact_size_bytes) VALUES ('{bVersion}', '{a}', '{aModel}', 1)",
            $"INSERT INTO model_aliases (tenant_id, model_id, alias, version_id) VALUES ('{a}', '{aModel}', 'stolen', '{bVersion}')",
            $"UPDATE model_aliases SET challenger_version_id = '{bVersion}', challenger_percent = 50",
            $"UPDATE model_aliases SET shadow_version_id = '{bVersion}'",
            $"INSERT INTO api_keys (id, tenant_id, tenant_user_id, name, prefix, secret_hash, created_by) VALUES (gen_random_uuid(), '{a}', '{bUser}', 'k', 'x{Guid.NewGuid().ToString("N")[..15]}'::text, '\\x00', 'u')",
            $"INSERT INTO artifact_uploads (id, tenant_id, model_id, version_id, object_key, size_bytes, created_by, expires_at) VALUES (gen_random_uuid(), '{a}', '{aModel}', '{bVersion}', 'k', 1, 'u', now() + interval '1 hour')",
        ];
        foreach (var sql in crossReferences)
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => TenantSql.ExecuteAsync(databases.AppSource, a, sql));
            Assert.True(error.SqlState == PostgresErrorCodes.ForeignKeyViolation, $"{sql}: {error.SqlState} {error.MessageText}");
        }

        Assert.Equal(2L, await TenantSql.ScalarAsync<long>(databases.AppSource, b, "SELECT count(*) FROM model_versions"));
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
        Assert.Equal(0L, await TenantSql.ScalarAsync<long>(databases.AppSource, b, "SELECT count(*) FROM models WHERE name = 'stolen'"));
        Assert.Equal(1L, await TenantSql.ScalarAsync<long>(databases.AppSource, b, "SELECT count(*) FROM tenant_users"));

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

    /// <summary>A tenant with a row in every tenant-scoped table.</summary>
    private static async Task<Guid> SeedTenantAsync(NpgsqlDataSource source)
    {
        var tenant = await TenantSql.CreateTenantAsync(source);
        var (model, version, job, agent, user, workflow) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(),
            Guid.NewGuid());
        await TenantSql.ExecuteAsync(source, tenant, $$"""
            INSERT INTO tenant_users (id, tenant_id, user_id, email, roles) VALUES ('{{user}}', '{{tenant}}', 'u1', 'u1@example.com', ARRAY['viewer']);
            INSERT INTO tenant_resource_usage (tenant_id, resource_type, usage_amount, quota_limit, period_start, period_end)
                VALUES ('{{tenant}}', 'models', 1, 10, 'epoch', '9999-12-31');
            INSERT INTO api_keys (id, tenant_id, tenant_user_id, name, prefix, secret_hash, created_by)
                VALUES (gen_random_uuid(), '{{tenant}}', '{{user}}', 'k', '{{Guid.NewGuid().ToString("N")[..12]}}', '\x00', 'u1');
            INSERT INTO models (id, tenant_id, name, model_type, algorithm, created_by) VALUES ('{{model}}', '{{tenant}}', 'm', 'classifier', 'fasttree', 'u1');
            INSERT INTO models (tenant_id, name, model_type, algorithm, created_by) VALUES ('{{tenant}}', 'parent', 'classifier', 'fasttree', 'u1');
            INSERT INTO model_versions (id, tenant_id, model_id, version, created_by) VALUES ('{{version}}', '{{tenant}}', '{{model}}', '1', 'u1');
            INSERT INTO model_lineage (tenant_id, model_id, parent_model_id, lineage_type)
                SELECT '{{tenant}}', '{{model}}', id, 'derived' FROM models WHERE name = 'parent';
            INSERT INTO model_artifacts (model_version_id, tenant_id, model_id, artifact_size_bytes) VALUES ('{{version}}', '{{tenant}}', '{{model}}', 1);
            INSERT INTO model_aliases (tenant_id, model_id, alias, version_id) VALUES ('{{tenant}}', '{{model}}', 'champion', '{{version}}');
            INSERT INTO artifact_uploads (id, tenant_id, model_id, version_id, object_key, size_bytes, created_by, expires_at)
                VALUES (gen_random_uuid(), '{{tenant}}', '{{model}}', '{{version}}', 'k', 1, 'u1', now() + interval '1 hour');
            INSERT INTO training_jobs (id, tenant_id, model_id, job_name, config, dataset_uri, created_by) VALUES ('{{job}}', '{{tenant}}', '{{model}}', 'j', '{}', 's3://d', 'u1');
            INSERT INTO training_experiments (tenant_id, training_job_id, experiment_name, parameters, started_at, status)
                VALUES ('{{tenant}}', '{{job}}', 'trial-1', '{}', now(), 'completed');
            INSERT INTO training_projects (tenant_id, id, name, created_by) VALUES ('{{tenant}}', '0', 'Default', 'u1');
            INSERT INTO training_run_artifacts (tenant_id, training_job_id, path, object_key, size_bytes, sha256, uploaded_by)
                VALUES ('{{tenant}}', '{{job}}', 'model/MLmodel', 'k', 1, repeat('0', 64), 'u1');
            INSERT INTO inference_jobs (tenant_id, model_id, model_version, input_data) VALUES ('{{tenant}}', '{{model}}', '1', '{}');
            INSERT INTO inference_batches (id, tenant_id, model_id, model_name, model_version, input_uri, input_path, created_by)
                VALUES (gen_random_uuid(), '{{tenant}}', '{{model}}', 'm', '1', 'model://d/versions/1', 'p', 'u1');
            INSERT INTO agents (id, tenant_id, name, version, agent_type, config, created_by) VALUES ('{{agent}}', '{{tenant}}', 'a', '1', 't', '{}', 'u1');
            INSERT INTO agent_executions (tenant_id, agent_id, context) VALUES ('{{tenant}}', '{{agent}}', '{}');
            INSERT INTO agent_workflows (id, tenant_id, workflow_name, version, definition, created_by)
                VALUES ('{{workflow}}', '{{tenant}}', 'w', 1, '{}', 'u1');
            INSERT INTO agent_workflow_runs (id, tenant_id, workflow_id, workflow_name, workflow_version, input, created_by)
                VALUES (gen_random_uuid(), '{{tenant}}', '{{workflow}}', 'w', 1, '{}', 'u1');
            INSERT INTO agent_webhook_hosts (tenant_id, host, created_by) VALUES ('{{tenant}}', 'example.com', 'u1');
            INSERT INTO agent_execution_logs (tenant_id, agent_execution_id, seq, timestamp, level, document)
                VALUES ('{{tenant}}', gen_random_uuid(), 1, now(), 1, '{}');
            INSERT INTO data_lineage (tenant_id, resource_id, resource_type, created_by) VALUES ('{{tenant}}', 'r', 'dataset', 'u1');
            INSERT INTO audit_chain (tenant_id, seq, audit_timestamp, audit_id, retention_until, record_hash, chain_hash)
                VALUES ('{{tenant}}', 1, now(), gen_random_uuid(), now(), '\x00', '\x00');
            INSERT INTO audit_chain_heads (tenant_id, seq, chain_hash) VALUES ('{{tenant}}', 1, '\x00');
            INSERT INTO audit_digests (tenant_id, period_start, period_end, first_seq, last_seq, document, signature, key_id)
                VALUES ('{{tenant}}', now(), now(), 1, 1, '{}', '\x00', 'k');
            INSERT INTO audit_chain_pending (tenant_id, audit_timestamp, audit_id) VALUES ('{{tenant}}', now(), gen_random_uuid());
            INSERT INTO compliance_reports (tenant_id, framework, report_type, period_start, period_end, generated_by)
                VALUES ('{{tenant}}', 'SOC2', 'access', now() - interval '1 day', now(), 'u1');
            INSERT INTO audit_personal_salts (tenant_id, audit_timestamp, audit_id, actor_salt) VALUES ('{{tenant}}', now(), gen_random_uuid(), '\x00');
            INSERT INTO privacy_requests (tenant_id, kind, subject_ref, requested_by) VALUES ('{{tenant}}', 'access', 'u1', 'u1');
            INSERT INTO audit_search_offsets (tenant_id, backend) VALUES ('{{tenant}}', 'elasticsearch');
            INSERT INTO audit_user_addresses (tenant_id, user_id, ip_address, last_seen) VALUES ('{{tenant}}', 'u9', '10.9.9.9', now());
            """);
        await TenantSql.RecordAuditAsync(source, tenant, $"seed-{tenant}");
        return tenant;
    }
}
