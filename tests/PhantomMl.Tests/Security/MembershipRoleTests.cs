using Npgsql;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Security;

/// <summary>
/// The only database login an SDK client may hold: phantom_membership reads where the gateways are, and nothing else:
/// no tenant's row, no cluster secret, no function (the maintenance functions that drop partitions included).
/// </summary>
public sealed class MembershipRoleTests
{
    [Fact]
    public async Task The_membership_role_reads_the_gateways_and_nothing_else()
    {
        await using var databases = await MigratedDatabases.CreateAsync("membership");
        var tenant = await TenantSql.CreateTenantAsync(databases.AppSource);
        await using var membership = NpgsqlDataSource.Create(databases.Membership);

        // What the ADO.NET clustering client runs: the query texts, then the gateway query itself.
        await using (var queries = membership.CreateCommand("SELECT querykey, querytext FROM orleansquery"))
        {
            await using var reader = await queries.ExecuteReaderAsync(TestContext.Current.CancellationToken);
            Assert.True(await reader.ReadAsync(TestContext.Current.CancellationToken));
        }

        await using (var gateways = membership.CreateCommand(
            "SELECT address, proxyport, generation FROM orleansmembershiptable WHERE deploymentid = 'x' AND status = 3 AND proxyport > 0"))
        {
            await gateways.ExecuteScalarAsync(TestContext.Current.CancellationToken);
        }

        string[] refused =
        [
            "SELECT secret FROM cluster_secrets",
            "SELECT * FROM orleansmembershiptable",
            "SELECT hostname FROM orleansmembershiptable",
            "SELECT * FROM orleansstorage",
            "SELECT * FROM orleansreminderstable",
            "SELECT count(*) FROM tenants",
            "SELECT count(*) FROM api_keys",
            "SELECT count(*) FROM audit_logs",
            "SELECT count(*) FROM schema_migrations",
            "SELECT * FROM phantom_resolve_tenant('x')",
            "SELECT * FROM phantom_list_tenants(NULL, 10)",
            "SELECT * FROM phantom_authenticate_api_key('abc', '\\x00')",
            "SELECT * FROM phantom_drop_range_partitions_before('audit_logs'::regclass, now() + interval '100 years')",
            "SELECT phantom_forget_audit_event_ids(now())",
            "SELECT nextval('credential_epoch')",
            $"SELECT record_audit_event('{tenant}', 'e', now(), 'u', NULL, 'system', 'r', 'r', 'a', 'success', NULL, NULL, NULL, NULL, NULL, NULL)",
            "CREATE TABLE mine (id int)",
        ];
        foreach (var sql in refused)
        {
            await using var command = membership.CreateCommand(sql);
            var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
            Assert.True(error.SqlState == PostgresErrorCodes.InsufficientPrivilege, $"{sql}: {error.SqlState} {error.MessageText}");
        }

        // Choosing a tenant context gives nothing either: it cannot read the tables at all.
        var withContext = await Assert.ThrowsAsync<PostgresException>(() =>
            TenantSql.ScalarAsync<long>(membership, tenant, "SELECT count(*) FROM models"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, withContext.SqlState);
    }

    [Fact]
    public async Task No_function_is_executable_by_everyone()
    {
        await using var databases = await MigratedDatabases.CreateAsync("functions");
        await using var command = databases.OwnerSource.CreateCommand("""
            SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND has_function_privilege('public', p.oid, 'EXECUTE')
            """);
        var open = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            open.Add(reader.GetString(0));
        }

        Assert.Empty(open);
    }
}
