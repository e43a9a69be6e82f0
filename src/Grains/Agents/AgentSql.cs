using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Agents;

/// <summary>
/// The SQL of the Agents area inside a tenant's unit of work: agents and their versions, the platform's templates,
/// the webhook allow-list (this file), executions (AgentSql.Executions.cs) and workflows (AgentSql.Workflows.cs).
/// </summary>
public sealed partial class AgentSql(TenantDatabase database)
{
    private const string AgentColumns = """
        a.id, a.name, a.version, a.agent_type, a.description, a.config::text, a.enabled, a.priority, a.timeout_ms, a.max_retries,
        a.resource_requirements::text, t.agent_type || '@' || t.version, a.created_at, a.updated_at, a.created_by
        """;

    private const string AgentFrom = "agents a LEFT JOIN agent_templates t ON t.id = a.template_id";

    /// <summary>The latest version of an agent, or the named version.</summary>
    public async Task<AgentView?> FindAgentAsync(NpgsqlTransaction transaction, string name, string? version)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            SELECT {AgentColumns} FROM {AgentFrom}
             WHERE a.tenant_id = @tenant AND a.name = @name AND (@version::text IS NULL OR a.version = @version)
             ORDER BY a.version_number DESC LIMIT 1
            """);
        command.Parameters.AddWithValue("name", name);
        command.AddOptional("version", NpgsqlDbType.Text, version);
        return (await ReadAgentsAsync(command)).FirstOrDefault();
    }

    /// <summary>One agent version by id.</summary>
    public async Task<AgentView?> FindAgentAsync(NpgsqlTransaction transaction, Guid agentId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            $"SELECT {AgentColumns} FROM {AgentFrom} WHERE a.tenant_id = @tenant AND a.id = @id");
        command.Parameters.AddWithValue("id", agentId);
        return (await ReadAgentsAsync(command)).FirstOrDefault();
    }

    /// <summary>Every version of an agent, newest first.</summary>
    public async Task<List<AgentView>> ListVersionsAsync(NpgsqlTransaction transaction, string name)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            $"SELECT {AgentColumns} FROM {AgentFrom} WHERE a.tenant_id = @tenant AND a.name = @name ORDER BY a.version_number DESC");
        command.Parameters.AddWithValue("name", name);
        return await ReadAgentsAsync(command);
    }

    /// <summary>The latest version of every agent of the tenant.</summary>
    public async Task<List<AgentView>> ListAgentsAsync(NpgsqlTransaction transaction)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            SELECT DISTINCT ON (a.name) {AgentColumns} FROM {AgentFrom}
             WHERE a.tenant_id = @tenant ORDER BY a.name, a.version_number DESC
            """);
        return await ReadAgentsAsync(command);
    }

    /// <summary>Adds version <paramref name="number"/> of an agent; a new agent's versions start enabled.</summary>
    public async Task<AgentView> InsertAgentAsync(NpgsqlTransaction transaction, string name, int number, AgentDefinition definition, bool enabled,
        string createdBy)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            INSERT INTO agents (tenant_id, name, version, version_number, agent_type, description, config, enabled, priority, timeout_ms,
                                max_retries, resource_requirements, template_id, created_by)
            VALUES (@tenant, @name, @number::text, @number, @type, @description, @config, @enabled, @priority, @timeout, @retries, @resources,
                    @template, @createdBy)
            RETURNING id
            """);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("number", number);
        command.Parameters.AddWithValue("type", definition.AgentType);
        command.AddOptional("description", NpgsqlDbType.Text, definition.Description);
        command.Parameters.Add(new NpgsqlParameter("config", NpgsqlDbType.Jsonb) { Value = definition.Config });
        command.Parameters.AddWithValue("enabled", enabled);
        command.Parameters.AddWithValue("priority", definition.Priority);
        command.Parameters.AddWithValue("timeout", definition.TimeoutMs);
        command.Parameters.AddWithValue("retries", definition.MaxRetries);
        command.AddOptional("resources", NpgsqlDbType.Jsonb, definition.ResourceRequirements);
        command.AddOptional("template", NpgsqlDbType.Uuid, definition.TemplateId);
        command.Parameters.AddWithValue("createdBy", createdBy);
        var id = (Guid)(await command.ExecuteScalarAsync())!;
        return (await FindAgentAsync(transaction, id))!;
    }

    /// <summary>Enables or disables every version of an agent; false when it has none.</summary>
    public async Task<bool> SetEnabledAsync(NpgsqlTransaction transaction, string name, bool enabled)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "UPDATE agents SET enabled = @enabled, updated_at = now() WHERE tenant_id = @tenant AND name = @name");
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("enabled", enabled);
        return await command.ExecuteNonQueryAsync() > 0;
    }

    /// <summary>Every template, or those of a type and version (platform-wide: the table has no tenant and no row-level security).</summary>
    public async Task<List<AgentTemplateView>> ListTemplatesAsync(string? agentType = null, string? version = null)
    {
        await using var command = database.CreateCommand("""
            SELECT id, agent_type, version, name, description, config::text, timeout_ms, max_retries, created_at, created_by
              FROM agent_templates
             WHERE (@type::text IS NULL OR agent_type = @type) AND (@version::text IS NULL OR version = @version)
             ORDER BY agent_type, version
            """);
        command.AddOptional("type", NpgsqlDbType.Text, agentType);
        command.AddOptional("version", NpgsqlDbType.Text, version);
        await using var reader = await command.ExecuteReaderAsync();
        var templates = new List<AgentTemplateView>();
        while (await reader.ReadAsync())
        {
            templates.Add(new AgentTemplateView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetString(5), reader.GetInt32(6), reader.GetInt32(7),
                reader.GetFieldValue<DateTimeOffset>(8), reader.GetString(9)));
        }

        return templates;
    }

    /// <summary>Publishes a template; a unique violation means the type and version exist.</summary>
    public async Task<AgentTemplateView> InsertTemplateAsync(CreateAgentTemplate template, string createdBy)
    {
        await using (var command = database.CreateCommand("""
            INSERT INTO agent_templates (agent_type, version, name, description, config, timeout_ms, max_retries, created_by)
            VALUES (@type, @version, @name, @description, @config, @timeout, @retries, @createdBy)
            """))
        {
            command.Parameters.AddWithValue("type", template.AgentType);
            command.Parameters.AddWithValue("version", template.Version);
            command.Parameters.AddWithValue("name", template.Name);
            command.AddOptional("description", NpgsqlDbType.Text, template.Description);
            command.Parameters.Add(new NpgsqlParameter("config", NpgsqlDbType.Jsonb) { Value = template.Config });
            command.Parameters.AddWithValue("timeout", template.TimeoutMs);
            command.Parameters.AddWithValue("retries", template.MaxRetries);
            command.Parameters.AddWithValue("createdBy", createdBy);
            await command.ExecuteNonQueryAsync();
        }

        return (await ListTemplatesAsync(template.AgentType, template.Version)).Single();
    }

    /// <summary>The tenant's webhook allow-list, sorted.</summary>
    public async Task<List<string>> ListWebhookHostsAsync(NpgsqlTransaction transaction)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "SELECT host FROM agent_webhook_hosts WHERE tenant_id = @tenant ORDER BY host");
        await using var reader = await command.ExecuteReaderAsync();
        var hosts = new List<string>();
        while (await reader.ReadAsync())
        {
            hosts.Add(reader.GetString(0));
        }

        return hosts;
    }

    /// <summary>The tenant's webhook allow-list, read in a unit of work of its own.</summary>
    public Task<List<string>> ListWebhookHostsAsync(Guid tenantId) =>
        database.InTenantAsync(tenantId, (_, transaction) => ListWebhookHostsAsync(transaction));

    /// <summary>Replaces the allow-list.</summary>
    public async Task ReplaceWebhookHostsAsync(NpgsqlTransaction transaction, IReadOnlyList<string> hosts, string createdBy)
    {
        await using (var delete = TenantDatabase.TenantCommand(transaction, "DELETE FROM agent_webhook_hosts WHERE tenant_id = @tenant"))
        {
            await delete.ExecuteNonQueryAsync();
        }

        await using var insert = TenantDatabase.TenantCommand(transaction, """
            INSERT INTO agent_webhook_hosts (tenant_id, host, created_by) SELECT @tenant, host, @createdBy FROM unnest(@hosts) AS host
            """);
        insert.Parameters.AddWithValue("hosts", hosts.ToArray());
        insert.Parameters.AddWithValue("createdBy", createdBy);
        await insert.ExecuteNonQueryAsync();
    }

    private static async Task<List<AgentView>> ReadAgentsAsync(NpgsqlCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        var agents = new List<AgentView>();
        while (await reader.ReadAsync())
        {
            agents.Add(new AgentView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetString(5), reader.GetBoolean(6), reader.GetInt32(7), reader.GetInt32(8),
                reader.GetInt32(9), reader.IsDBNull(10) ? null : reader.GetString(10), reader.IsDBNull(11) ? null : reader.GetString(11),
                reader.GetFieldValue<DateTimeOffset>(12), reader.GetFieldValue<DateTimeOffset>(13), reader.GetString(14)));
        }

        return agents;
    }
}

/// <summary>What an agent version is, as validated and completed from its template or previous version.</summary>
public sealed record AgentDefinition(string AgentType, string Config, string? Description, int Priority, int TimeoutMs, int MaxRetries,
    string? ResourceRequirements, Guid? TemplateId, string? TemplateName)
{
    /// <summary>Whether <paramref name="version"/> does the same thing (a new version is only added when not).</summary>
    public bool SameAs(AgentView version) =>
        version.AgentType == AgentType && JsonEquals(version.Config, Config) && version.Description == Description && version.Priority == Priority
        && version.TimeoutMs == TimeoutMs && version.MaxRetries == MaxRetries && JsonEquals(version.ResourceRequirements, ResourceRequirements)
        && version.Template == TemplateName;

    private static bool JsonEquals(string? a, string? b) => a is null || b is null
        ? a == b
        : System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(a), System.Text.Json.Nodes.JsonNode.Parse(b));
}
