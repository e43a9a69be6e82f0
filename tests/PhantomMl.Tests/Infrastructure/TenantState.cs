using Npgsql;

namespace PhantomMl.Tests.Infrastructure;

/// <summary>
/// Everything a tenant has in PostgreSQL, as one comparable text: the row count of every table under row-level security
/// (found in the catalog, so a new table is included without anyone remembering it), the tenant's own row, its quota
/// usage, its models' ETags and its successful audit rows. Refused and failed attempts leave audit rows of their own, so
/// those are left out: a snapshot equal before and after means the attempts changed nothing.
/// </summary>
public static class TenantState
{
    public static async Task<string> SnapshotAsync(MigratedDatabases databases, Guid tenantId)
    {
        var tables = await TenantScopedTablesAsync(databases);
        var parts = new List<string>();
        await TenantSql.InTransactionAsync(databases.OwnerSource, tenantId, async (connection, transaction) =>
        {
            foreach (var table in tables.Where(t => t is not ("audit_logs" or "audit_event_ids" or "audit_chain" or "audit_chain_pending" or "audit_chain_heads"
                         or "audit_digests" or "audit_personal_salts" or "audit_user_addresses" or "audit_search_offsets")))
            {
                await using var count = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection, transaction);
                parts.Add($"{table}={await count.ExecuteScalarAsync()}");
            }

            foreach (var (name, sql) in new[]
                     {
                         ("audit successes", "SELECT count(*) FROM audit_logs WHERE result = 'success'"),
                         ("tenant", "SELECT row_to_json(t)::text FROM tenants t"),
                         ("usage", "SELECT coalesce(string_agg(resource_type || ':' || usage_amount, ',' ORDER BY resource_type, period_start), '') FROM tenant_resource_usage"),
                         ("model etags", "SELECT coalesce(string_agg(name || ':' || row_version, ',' ORDER BY name), '') FROM models"),
                         ("users", "SELECT coalesce(string_agg(row_to_json(u)::text, ',' ORDER BY user_id), '') FROM tenant_users u"),
                     })
            {
                await using var command = new NpgsqlCommand(sql, connection, transaction);
                parts.Add($"{name}={await command.ExecuteScalarAsync()}");
            }

            return true;
        });
        return string.Join('\n', parts);
    }

    /// <summary>Every table (not partition) with row-level security and a tenant_id column.</summary>
    public static async Task<List<string>> TenantScopedTablesAsync(MigratedDatabases databases)
    {
        await using var command = databases.OwnerSource.CreateCommand("""
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relrowsecurity AND NOT c.relispartition
               AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
             ORDER BY c.relname
            """);
        var tables = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            tables.Add(reader.GetString(0));
        }

        return tables;
    }
}
