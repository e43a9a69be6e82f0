using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Agents;

/// <summary>Workflows (versioned definitions) and their runs.</summary>
public sealed partial class AgentSql
{
    private const string WorkflowColumns = "id, workflow_name, version, description, definition::text, created_at, created_by";

    private const string RunColumns = """
        id, workflow_name, workflow_version, status::text, input::text, steps::text, created_at, started_at, completed_at, error_details::text,
        created_by, updated_at
        """;

    /// <summary>A run's row; <see cref="Steps"/> is the JSON of its steps' states (see <see cref="WorkflowRunState"/>).</summary>
    public sealed record RunRow(Guid Id, string Workflow, int Version, string Status, string Input, string Steps, DateTimeOffset CreatedAt,
        DateTimeOffset? StartedAt, DateTimeOffset? CompletedAt, string? ErrorDetails, string CreatedBy, DateTimeOffset UpdatedAt);

    /// <summary>The latest version of a workflow, or the named one.</summary>
    public async Task<WorkflowView?> FindWorkflowAsync(NpgsqlTransaction transaction, string name, int? version)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            SELECT {WorkflowColumns} FROM agent_workflows
             WHERE tenant_id = @tenant AND workflow_name = @name AND (@version::int IS NULL OR version = @version)
             ORDER BY version DESC LIMIT 1
            """);
        command.Parameters.AddWithValue("name", name);
        command.AddOptional("version", NpgsqlDbType.Integer, version);
        return (await ReadWorkflowsAsync(command)).FirstOrDefault();
    }

    /// <summary>Every version of a workflow, newest first; or, without a name, the latest of each.</summary>
    public async Task<List<WorkflowView>> ListWorkflowsAsync(NpgsqlTransaction transaction, string? name)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, name is null
            ? $"SELECT DISTINCT ON (workflow_name) {WorkflowColumns} FROM agent_workflows WHERE tenant_id = @tenant " +
                "ORDER BY workflow_name, version DESC"
            : $"SELECT {WorkflowColumns} FROM agent_workflows WHERE tenant_id = @tenant AND workflow_name = @name ORDER BY version DESC");
        command.AddOptional("name", NpgsqlDbType.Text, name);
        return await ReadWorkflowsAsync(command);
    }

    /// <summary>Adds a version of a workflow.</summary>
    public async Task<WorkflowView> InsertWorkflowAsync(NpgsqlTransaction transaction, string name, int version, string definition,
        string? description,
        string createdBy)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            INSERT INTO agent_workflows (tenant_id, workflow_name, version, description, definition, created_by)
            VALUES (@tenant, @name, @version, @description, @definition, @createdBy)
            RETURNING {WorkflowColumns}
            """);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("version", version);
        command.AddOptional("description", NpgsqlDbType.Text, description);
        command.Parameters.Add(new NpgsqlParameter("definition", NpgsqlDbType.Jsonb) { Value = definition });
        command.Parameters.AddWithValue("createdBy", createdBy);
        return (await ReadWorkflowsAsync(command)).Single();
    }

    /// <summary>One run.</summary>
    public async Task<RunRow?> FindRunAsync(NpgsqlTransaction transaction, Guid runId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            $"SELECT {RunColumns} FROM agent_workflow_runs WHERE tenant_id = @tenant AND id = @id");
        command.Parameters.AddWithValue("id", runId);
        return (await ReadRunsAsync(command)).FirstOrDefault();
    }

    /// <summary>Runs, newest first.</summary>
    public async Task<List<RunRow>> ListRunsAsync(NpgsqlTransaction transaction, string? status, int limit)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            SELECT {RunColumns} FROM agent_workflow_runs
             WHERE tenant_id = @tenant AND (@status::text IS NULL OR status::text = @status)
             ORDER BY created_at DESC, id DESC LIMIT @limit
            """);
        command.AddOptional("status", NpgsqlDbType.Text, status);
        command.Parameters.AddWithValue("limit", limit);
        return await ReadRunsAsync(command);
    }

    /// <summary>Records a running run of <paramref name="workflow"/>.</summary>
    public async Task InsertRunAsync(NpgsqlTransaction transaction, Guid runId, WorkflowView workflow, string input, string steps, string createdBy)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            INSERT INTO agent_workflow_runs (id, tenant_id, workflow_id, workflow_name, workflow_version, status, input, steps, started_at,
                                             created_by)
            VALUES (@id, @tenant, @workflow, @name, @version, 'running', @input, @steps, now(), @createdBy)
            """);
        command.Parameters.AddWithValue("id", runId);
        command.Parameters.AddWithValue("workflow", workflow.Id);
        command.Parameters.AddWithValue("name", workflow.Name);
        command.Parameters.AddWithValue("version", workflow.Version);
        command.Parameters.Add(new NpgsqlParameter("input", NpgsqlDbType.Jsonb) { Value = input });
        command.Parameters.Add(new NpgsqlParameter("steps", NpgsqlDbType.Jsonb) { Value = steps });
        command.Parameters.AddWithValue("createdBy", createdBy);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Saves a running run's steps and, when it ended, its status; false when it was no longer running.</summary>
    public async Task<bool> UpdateRunAsync(NpgsqlTransaction transaction, Guid runId, string steps, string status, string? errorDetails)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            UPDATE agent_workflow_runs
               SET steps = @steps, status = @status::execution_status_enum, error_details = coalesce(@error, error_details),
                   completed_at = CASE WHEN @status = 'running' THEN NULL ELSE now() END, updated_at = now()
             WHERE tenant_id = @tenant AND id = @id AND status = 'running'
            """);
        command.Parameters.AddWithValue("id", runId);
        command.Parameters.Add(new NpgsqlParameter("steps", NpgsqlDbType.Jsonb) { Value = steps });
        command.Parameters.AddWithValue("status", status);
        command.AddOptional("error", NpgsqlDbType.Jsonb, errorDetails);
        return await command.ExecuteNonQueryAsync() > 0;
    }

    private static async Task<List<WorkflowView>> ReadWorkflowsAsync(NpgsqlCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        var workflows = new List<WorkflowView>();
        while (await reader.ReadAsync())
        {
            workflows.Add(new WorkflowView(reader.GetGuid(0), reader.GetString(1), reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetString(4), reader.GetFieldValue<DateTimeOffset>(5), reader.GetString(6)));
        }

        return workflows;
    }

    private static async Task<List<RunRow>> ReadRunsAsync(NpgsqlCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        var runs = new List<RunRow>();
        while (await reader.ReadAsync())
        {
            runs.Add(new RunRow(reader.GetGuid(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6),
                reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7),
                    reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8),
                reader.IsDBNull(9) ? null : reader.GetString(9), reader.GetString(10), reader.GetFieldValue<DateTimeOffset>(11)));
        }

        return runs;
    }
}
