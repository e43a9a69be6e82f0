using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Agents;

/// <summary>Executions: their rows are their state, and every move is a conditional UPDATE from the status it expects.</summary>
public sealed partial class AgentSql
{
    /// <summary>Statuses of an execution that has not finished.</summary>
    public static readonly string[] Open = ["pending", "running"];

    private const string ExecutionColumns = """
        id, agent_name, agent_version, agent_type, status::text, context::text, attempt, max_retries, timeout_ms, created_at, started_at,
        completed_at, next_attempt_at, deadline_at, waiting_for, execution_time_ms, result_summary::text, error_details::text, workflow_run_id,
        step_name, coalesce(created_by, ''), agent_id, log_entries, log_dropped, updated_at
        """;

    /// <summary>An execution's row: what the API shows, and what only the grain needs.</summary>
    public sealed record ExecutionRow(ExecutionView View, Guid AgentId, int LogEntries, int LogDropped, DateTimeOffset UpdatedAt);

    /// <summary>One execution.</summary>
    public async Task<ExecutionRow?> FindExecutionAsync(NpgsqlTransaction transaction, Guid executionId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            $"SELECT {ExecutionColumns} FROM agent_executions WHERE tenant_id = @tenant AND id = @id");
        command.Parameters.AddWithValue("id", executionId);
        return (await ReadExecutionsAsync(command)).FirstOrDefault();
    }

    /// <summary>Executions, newest first.</summary>
    public async Task<List<ExecutionRow>> ListExecutionsAsync(NpgsqlTransaction transaction, string? status, string? agent, Guid? runId, int limit)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            SELECT {ExecutionColumns} FROM agent_executions
             WHERE tenant_id = @tenant AND (@status::text IS NULL OR status::text = @status) AND (@agent::text IS NULL OR agent_name = @agent)
               AND (@run::uuid IS NULL OR workflow_run_id = @run)
             ORDER BY created_at DESC, id DESC LIMIT @limit
            """);
        command.AddOptional("status", NpgsqlDbType.Text, status);
        command.AddOptional("agent", NpgsqlDbType.Text, agent);
        command.AddOptional("run", NpgsqlDbType.Uuid, runId);
        command.Parameters.AddWithValue("limit", limit);
        return await ReadExecutionsAsync(command);
    }

    /// <summary>Records a pending execution of the agent version <paramref name="agent"/>.</summary>
    public async Task<ExecutionRow?> InsertExecutionAsync(NpgsqlTransaction transaction, Guid executionId, AgentView agent, string context,
        Guid? runId,
        string? step, string createdBy)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            INSERT INTO agent_executions (id, tenant_id, agent_id, agent_name, agent_version, agent_type, context, timeout_ms, max_retries,
                                          workflow_run_id, step_name, created_by)
            VALUES (@id, @tenant, @agent, @name, @version, @type, @context, @timeout, @retries, @run, @step, @createdBy)
            RETURNING {ExecutionColumns}
            """);
        command.Parameters.AddWithValue("id", executionId);
        command.Parameters.AddWithValue("agent", agent.Id);
        command.Parameters.AddWithValue("name", agent.Name);
        command.Parameters.AddWithValue("version", agent.Version);
        command.Parameters.AddWithValue("type", agent.AgentType);
        command.Parameters.Add(new NpgsqlParameter("context", NpgsqlDbType.Jsonb) { Value = context });
        command.Parameters.AddWithValue("timeout", agent.TimeoutMs);
        command.Parameters.AddWithValue("retries", agent.MaxRetries);
        command.AddOptional("run", NpgsqlDbType.Uuid, runId);
        command.AddOptional("step", NpgsqlDbType.Varchar, step);
        command.Parameters.AddWithValue("createdBy", createdBy);
        return (await ReadExecutionsAsync(command)).Single();
    }

    /// <summary>pending → running as attempt <c>attempt + 1</c>, with its deadline; null when it was not pending.</summary>
    public async Task<ExecutionRow?> BeginAttemptAsync(NpgsqlTransaction transaction, Guid executionId, int expectedAttempt)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            UPDATE agent_executions
               SET status = 'running', attempt = attempt + 1, started_at = coalesce(started_at, now()), next_attempt_at = NULL,
                   deadline_at = now() + make_interval(secs => timeout_ms / 1000.0), waiting_for = NULL, updated_at = now()
             WHERE tenant_id = @tenant AND id = @id AND status = 'pending' AND attempt = @attempt
            RETURNING {ExecutionColumns}
            """);
        command.Parameters.AddWithValue("id", executionId);
        command.Parameters.AddWithValue("attempt", expectedAttempt);
        return (await ReadExecutionsAsync(command)).FirstOrDefault();
    }

    /// <summary>
    /// Ends attempt <paramref name="attempt"/>: to <paramref name="status"/> (completed, failed, timed_out, cancelled), or back
    /// to pending until <paramref name="nextAttemptAt"/> (a retry), or, with <paramref name="waitingFor"/>, still running while
    /// it waits. Null when the execution was no longer in <paramref name="from"/> at that attempt.
    /// </summary>
    public async Task<ExecutionRow?> EndAttemptAsync(NpgsqlTransaction transaction, Guid executionId, string[] from, int attempt, string status,
        string? resultSummary = null, string? errorDetails = null, DateTimeOffset? nextAttemptAt = null, string? waitingFor = null,
        int logEntries = 0, int logDropped = 0)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            UPDATE agent_executions
               SET status = @status::execution_status_enum,
                   completed_at = CASE WHEN @status IN ('pending', 'running') THEN NULL ELSE now() END,
                   execution_time_ms = CASE WHEN @status IN ('pending', 'running') THEN NULL
                                            ELSE least(extract(epoch FROM now() - coalesce(started_at, created_at)) * 1000, 2147483647)::int END,
                   result_summary = coalesce(@result, result_summary),
                   error_details = coalesce(@error, error_details),
                   next_attempt_at = @next,
                   waiting_for = @waiting,
                   deadline_at = CASE WHEN @status = 'running' THEN deadline_at ELSE NULL END,
                   log_entries = log_entries + @logEntries, log_dropped = log_dropped + @logDropped,
                   updated_at = now()
             WHERE tenant_id = @tenant AND id = @id AND status::text = ANY(@from) AND attempt = @attempt
            RETURNING {ExecutionColumns}
            """);
        command.Parameters.AddWithValue("id", executionId);
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("attempt", attempt);
        command.Parameters.AddWithValue("status", status);
        command.AddOptional("result", NpgsqlDbType.Jsonb, resultSummary);
        command.AddOptional("error", NpgsqlDbType.Jsonb, errorDetails);
        command.AddOptional("next", NpgsqlDbType.TimestampTz, nextAttemptAt);
        command.AddOptional("waiting", NpgsqlDbType.Varchar, waitingFor);
        command.Parameters.AddWithValue("logEntries", logEntries);
        command.Parameters.AddWithValue("logDropped", logDropped);
        return (await ReadExecutionsAsync(command)).FirstOrDefault();
    }

    /// <summary>A running attempt's heartbeat.</summary>
    public async Task HeartbeatAsync(NpgsqlTransaction transaction, Guid executionId, int attempt)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "UPDATE agent_executions SET updated_at = now() WHERE tenant_id = @tenant AND id = @id AND status = 'running' AND attempt = @attempt");
        command.Parameters.AddWithValue("id", executionId);
        command.Parameters.AddWithValue("attempt", attempt);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>How many executions of the tenant are pending or running (what concurrent_agent_executions bounds).</summary>
    public async Task<long> CountOpenExecutionsAsync(NpgsqlTransaction transaction)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "SELECT count(*) FROM agent_executions WHERE tenant_id = @tenant AND status IN ('pending', 'running')");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Counts log entries written (or dropped) between transitions: while an attempt runs, or at a decision.</summary>
    public async Task CountLogEntriesAsync(NpgsqlTransaction transaction, Guid executionId, int entries, int dropped)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            UPDATE agent_executions SET log_entries = log_entries + @entries, log_dropped = log_dropped + @dropped
             WHERE tenant_id = @tenant AND id = @id
            """);
        command.Parameters.AddWithValue("id", executionId);
        command.Parameters.AddWithValue("entries", entries);
        command.Parameters.AddWithValue("dropped", dropped);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The agent work due across tenants (see phantom_due_agent_work).</summary>
    public async Task<List<(string Kind, string TenantKey, Guid Id)>> DueWorkAsync(DateTimeOffset now, DateTimeOffset staleBefore, int limit)
    {
        await using var command = database.CreateCommand("SELECT kind, tenant_key, id FROM phantom_due_agent_work(@now, @stale, @limit)");
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("stale", staleBefore);
        command.Parameters.AddWithValue("limit", limit);
        await using var reader = await command.ExecuteReaderAsync();
        var due = new List<(string, string, Guid)>();
        while (await reader.ReadAsync())
        {
            due.Add((reader.GetString(0), reader.GetString(1), reader.GetGuid(2)));
        }

        return due;
    }

    /// <summary>Deletes log entries past every tenant's retention; returns how many.</summary>
    public async Task<long> ExpireLogsAsync(string defaultDaysByTier)
    {
        await using var command = database.CreateCommand("SELECT phantom_expire_agent_logs(@defaults::jsonb)");
        command.Parameters.AddWithValue("defaults", defaultDaysByTier);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<List<ExecutionRow>> ReadExecutionsAsync(NpgsqlCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<ExecutionRow>();
        while (await reader.ReadAsync())
        {
            DateTimeOffset? Time(int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            rows.Add(new ExecutionRow(new ExecutionView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                    reader.GetString(4), reader.GetString(5), reader.GetInt32(6), reader.GetInt32(7), reader.GetInt32(8),
                    reader.GetFieldValue<DateTimeOffset>(9), Time(10), Time(11), Time(12), Time(13), Text(14),
                    reader.IsDBNull(15) ? null : reader.GetInt32(15), Text(16), Text(17), reader.IsDBNull(18) ? null : reader.GetGuid(18), Text(19),
                    reader.GetString(20)),
                reader.GetGuid(21), reader.GetInt32(22), reader.GetInt32(23), reader.GetFieldValue<DateTimeOffset>(24)));
        }

        return rows;
    }
}
