using System.Text.Json;
using NpgsqlTypes;
using PhantomMl.Grains.Agents;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Adapters.PostgreSql;

/// <summary>
/// Execution logs as JSONB documents in agent_execution_logs, under row-level security like every tenant table. The
/// cursor is the entry's sequence number, so pages never skip or repeat an entry written meanwhile.
/// </summary>
public sealed class PostgreSqlExecutionLogStore(TenantDatabase database, AgentSql agentSql) : IExecutionLogStore
{
    /// <inheritdoc />
    public Task AppendAsync(Guid tenantId, Guid executionId, IReadOnlyList<LogEntry> entries, int retentionDays,
        CancellationToken cancellationToken = default) =>
        entries.Count == 0 ? Task.CompletedTask : database.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            // Log entries do not wait for the WAL flush (a PostgreSQL crash may lose the last moments of logs, never a
            // transition of an execution, which commits synchronously): they are the most frequent writes of an execution.
            await using (var relaxed = new Npgsql.NpgsqlCommand("SET LOCAL synchronous_commit = off", connection, transaction))
            {
                await relaxed.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var command = TenantDatabase.TenantCommand(transaction, """
                INSERT INTO agent_execution_logs (tenant_id, agent_execution_id, seq, timestamp, level, document)
                SELECT @tenant, @execution, e.seq, e.ts, e.level, e.document
                  FROM unnest(@sequences, @timestamps, @levels, @documents) AS e(seq, ts, level, document)
                ON CONFLICT DO NOTHING
                """);
            // Retention is applied by the sweep (phantom_expire_agent_logs) from the tenant's current setting.
            command.Parameters.AddWithValue("sequences", entries.Select(entry => entry.Sequence).ToArray());
            command.Parameters.AddWithValue("execution", executionId);
            command.Parameters.AddWithValue("timestamps", entries.Select(entry => entry.Timestamp).ToArray());
            command.Parameters.AddWithValue("levels", entries.Select(entry => (short)entry.Level).ToArray());
            command.Parameters.Add(new Npgsql.NpgsqlParameter("documents", NpgsqlDbType.Array | NpgsqlDbType.Jsonb)
            {
                Value = entries.Select(Document).ToArray(),
            });
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<ExecutionLogPage> ReadAsync(Guid tenantId, Guid executionId, LogLevelName minLevel, long? after, int limit,
        CancellationToken cancellationToken = default) =>
        database.InTenantAsync(tenantId, async (_, transaction) =>
        {
            await using var command = TenantDatabase.TenantCommand(transaction, """
                SELECT seq, timestamp, level, document ->> 'message', (document ->> 'attempt')::int, document -> 'fields'
                  FROM agent_execution_logs
                 WHERE tenant_id = @tenant AND agent_execution_id = @execution AND level >= @level AND seq > @after
                 ORDER BY seq LIMIT @limit
                """);
            command.Parameters.AddWithValue("execution", executionId);
            command.Parameters.AddWithValue("level", (short)minLevel);
            command.Parameters.AddWithValue("after", after ?? 0);
            command.Parameters.AddWithValue("limit", limit + 1);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var entries = new List<ExecutionLogEntry>();
            while (await reader.ReadAsync(cancellationToken))
            {
                entries.Add(new ExecutionLogEntry(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1),
                    ((LogLevelName)reader.GetInt16(2)).ToString().ToLowerInvariant(), reader.GetString(3), reader.GetInt32(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5)));
            }

            return entries.Count > limit
                ? new ExecutionLogPage(entries[..limit], entries[limit - 1].Sequence)
                : new ExecutionLogPage(entries, null);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<long> ExpireAsync(CancellationToken cancellationToken = default) =>
        agentSql.ExpireLogsAsync(JsonSerializer.Serialize(Quotas.ByTier.ToDictionary(tier => tier.Key,
            tier => tier.Value[Quotas.AgentLogRetentionDays])));

    /// <summary>The stored document: the design's fields of an agent_execution_logs entry.</summary>
    public static string Document(LogEntry entry) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["timestamp"] = entry.Timestamp,
        ["level"] = entry.Level.ToString().ToLowerInvariant(),
        ["message"] = entry.Message,
        ["attempt"] = entry.Attempt,
        ["fields"] = entry.Fields is null ? null : JsonDocument.Parse(entry.Fields).RootElement,
    });
}
