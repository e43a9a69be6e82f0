using Npgsql;

namespace PhantomMl.Grains.Adapters.PostgreSql;

/// <summary>
/// Units of work against PostgreSQL as the application role. Every unit is one transaction whose first
/// statement sets the tenant transaction-locally (set_config(..., true)), so row-level security sees
/// exactly that tenant and the setting ends with the transaction, before the connection returns to the pool.
/// </summary>
public sealed class TenantDatabase(NpgsqlDataSource dataSource)
{
    /// <summary>Runs <paramref name="work"/> in one transaction scoped to <paramref name="tenantId"/>, and commits it.</summary>
    public async Task<T> InTenantAsync<T>(Guid tenantId, Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var scope = new NpgsqlCommand("SELECT set_config('app.current_tenant_id', @tenant, true)", connection, transaction))
        {
            scope.Parameters.AddWithValue("tenant", tenantId.ToString());
            await scope.ExecuteNonQueryAsync(cancellationToken);
        }

        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>A command outside any tenant: it sees no tenant rows, only what the security-definer functions return.</summary>
    public NpgsqlCommand CreateCommand(string sql) => dataSource.CreateCommand(sql);
}
