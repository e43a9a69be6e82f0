using Npgsql;

namespace PhantomMl.Tests.Infrastructure;

/// <summary>
/// Plain SQL for tests, each call one transaction, with the tenant context set transaction-locally
/// exactly as the platform sets it; <c>tenant: null</c> runs without any tenant context.
/// </summary>
public static class TenantSql
{
    public static async Task<T> InTransactionAsync<T>(NpgsqlDataSource source, Guid? tenant, Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work)
    {
        await using var connection = await source.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        if (tenant is { } id)
        {
            await using var context = new NpgsqlCommand("SELECT set_config('app.current_tenant_id', @tenant, true)", connection, transaction);
            context.Parameters.AddWithValue("tenant", id.ToString());
            await context.ExecuteNonQueryAsync();
        }

        var result = await work(connection, transaction);
        await transaction.CommitAsync();
        return result;
    }

    public static Task<int> ExecuteAsync(NpgsqlDataSource source, Guid? tenant, string sql) =>
        InTransactionAsync(source, tenant, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            return await command.ExecuteNonQueryAsync();
        });

    public static Task<T> ScalarAsync<T>(NpgsqlDataSource source, Guid? tenant, string sql) =>
        InTransactionAsync(source, tenant, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            return (T)(await command.ExecuteScalarAsync())!;
        });

    public static Task<List<string>> ListAsync(NpgsqlDataSource source, Guid? tenant, string sql) =>
        InTransactionAsync(source, tenant, async (connection, transaction) =>
        {
            var values = new List<string>();
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                values.Add(reader.GetString(0));
            }

            return values;
        });

    /// <summary>Inserts a tenant (as the tenant itself, the only way row-level security allows) and returns its id.</summary>
    public static async Task<Guid> CreateTenantAsync(NpgsqlDataSource source, string quotasJson = "{}", string frameworks = "{}")
    {
        var id = Guid.CreateVersion7();
        await ExecuteAsync(source, id, $"""
            INSERT INTO tenants (id, tenant_key, name, resource_quotas, compliance_frameworks, created_by)
            VALUES ('{id}', 't-{id:N}', 'Test', '{quotasJson}', '{frameworks}', 'test')
            """);
        return id;
    }

    /// <summary>Records an audit event through record_audit_event() in the tenant's context; false for a repeated event id.</summary>
    public static Task<bool> RecordAuditAsync(NpgsqlDataSource source, Guid tenant, string eventId, DateTimeOffset? at = null) =>
        InTransactionAsync(source, tenant, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT record_audit_event(@tenant, @event, @at, 'user-1', NULL, 'system', 'probe', 'p-1', 'touch', 'success',
                                          '127.0.0.1', 'tests', NULL, '{"k": 1}', NULL, NULL)
                """, connection, transaction);
            command.Parameters.AddWithValue("tenant", tenant);
            command.Parameters.AddWithValue("event", eventId);
            command.Parameters.AddWithValue("at", at ?? DateTimeOffset.UtcNow);
            return (bool)(await command.ExecuteScalarAsync())!;
        });
}
