using Npgsql;

namespace PhantomMl.Tests.Infrastructure;

/// <summary>An audit row as the group-commit tests compare them.</summary>
public sealed record AuditRow(string ResourceId, string Action, string Result, string Details, DateTime Timestamp);

/// <summary>Reads a tenant's audit rows straight from PostgreSQL, in the order they were written.</summary>
public static class AuditRows
{
    /// <summary>
    /// The rows of <paramref name="resourceType"/> with one of <paramref name="actions"/> (and <paramref name="resourceId"/>
    /// when given), in the chain's order once sealed and the sealing queue's before.
    /// </summary>
    public static Task<List<AuditRow>> ReadAsync(NpgsqlDataSource owner, Guid tenantId, string resourceType, string[] actions,
        string? resourceId = null) =>
        TenantSql.InTransactionAsync(owner, tenantId, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT a.resource_id, a.action, a.result::text, coalesce(a.details::text, ''), a."timestamp" FROM audit_logs a
                  LEFT JOIN audit_chain c ON c.tenant_id = a.tenant_id AND c.audit_timestamp = a."timestamp" AND c.audit_id = a.id
                  LEFT JOIN audit_chain_pending p ON p.tenant_id = a.tenant_id AND p.audit_id = a.id
                 WHERE a.resource_type = @type AND a.action = ANY (@actions) AND (@id::text IS NULL OR a.resource_id = @id)
                 ORDER BY c.seq IS NULL, c.seq, p.pending_id
                """, connection, transaction);
            command.Parameters.AddWithValue("type", resourceType);
            command.Parameters.AddWithValue("actions", actions);
            command.Parameters.Add(new NpgsqlParameter("id", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)resourceId ?? DBNull.Value });
            var rows = new List<AuditRow>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(new AuditRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetDateTime(4)));
            }

            return rows;
        });
}
