using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Agents.Actions;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Agents;

/// <summary>
/// See <see cref="IAgentGrain"/>. The agents rows are the state: every version is a row, so any activation on any silo
/// reads the same agent, and a version is never changed after it was added (only enabled or disabled with its agent).
/// </summary>
public sealed class AgentGrain(
    TenantDatabase database,
    AgentSql agentSql,
    AgentActions actions,
    AccessGuard guard,
    AuditedChanges changes) : Grain, IAgentGrain
{
    /// <summary>The longest an attempt (or an approval's wait) may be given: 7 days.</summary>
    public const int MaxTimeoutMs = 7 * 24 * 3600 * 1000;

    /// <summary>The most retries an agent may ask for.</summary>
    public const int MaxRetries = 20;

    private string _tenantKey = "";
    private string _name = "";
    private Guid _tenantId;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenantKey, _name) = GrainKeys.ParseModel(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<AgentView> DefineAsync(DefineAgent command)
    {
        var audit = Event("define", new { command?.AgentType, command?.Template, command?.TimeoutMs, command?.MaxRetries });
        var caller = await AuthorizeAsync(Permissions.AgentsRun, audit);
        AgentValidation.Name(_name, "name");
        if (command is null)
        {
            throw PhantomException.Invalid("Send the agent's definition.", "body");
        }

        var config = JsonText.ObjectOrNull(command.Config, AgentValidation.MaxDefinitionChars, "config");
        var resources = JsonText.ObjectOrNull(command.ResourceRequirements, 16_000, "resourceRequirements");
        AgentValidation.Text(command.Description, 4000, "description");
        AgentTemplateView? template = null;
        if (command.Template is not null)
        {
            var (type, version) = command.Template.Split('@') is [var t, var v] ? (t, v)
                : throw PhantomException.Invalid("template is {agentType}@{version}.", "template");
            template = (await agentSql.ListTemplatesAsync(type, version)).SingleOrDefault()
                ?? throw PhantomException.Invalid($"There is no template {command.Template}.", "template");
        }

        return await changes.ApplyAsync(caller, _tenantId, audit, async (_, transaction) =>
        {
            var latest = await agentSql.FindAgentAsync(transaction, _name, null);

            var agentType = command.AgentType ?? template?.AgentType ?? latest?.AgentType
                ?? throw PhantomException.Invalid("Name the agentType (or a template).", "agentType");
            if (template is not null && template.AgentType != agentType)
            {
                throw PhantomException.Invalid($"Template {command.Template} is of type {template.AgentType}, not {agentType}.", "template");
            }

            var mergedConfig = template is null
                ? config ?? latest?.Config ?? "{}"
                : AgentSettings.Merge(template.Config, config).Values.ToJsonString();
            var definition = new AgentDefinition(agentType, mergedConfig, command.Description ?? latest?.Description,
                Bounded(command.Priority ?? latest?.Priority ?? 0, -1000, 1000, "priority"),
                Bounded(command.TimeoutMs ?? template?.TimeoutMs ?? latest?.TimeoutMs ?? 30_000, 100, MaxTimeoutMs, "timeoutMs"),
                Bounded(command.MaxRetries ?? template?.MaxRetries ?? latest?.MaxRetries ?? 3, 0, MaxRetries, "maxRetries"),
                resources ?? (command.ResourceRequirements is null ? latest?.ResourceRequirements : null),
                template?.Id, template is null ? (command.Template is null ? latest?.Template : null) : command.Template);
            var action = actions.Of(agentType);
            action.Validate(AgentSettings.Merge(definition.Config, null));
            if (action.RequiredPermission is { } needed && !caller.Can(needed))
            {
                await guard.RefuseAsync(caller, audit, needed);
            }

            return latest is not null && definition.SameAs(latest)
                ? latest
                : await agentSql.InsertAgentAsync(transaction, _name, (latest is null ? 0 : int.Parse(latest.Version,
                    System.Globalization.CultureInfo.InvariantCulture)) + 1, definition, latest?.Enabled ?? true, caller.UserId);
        }, replay: () => LoadAsync(null));
    }

    /// <inheritdoc />
    public async Task<AgentView> GetAsync(string? version)
    {
        await AuthorizeAsync(Permissions.AgentsRead, Event("read"));
        return await LoadAsync(version);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AgentView>> ListVersionsAsync()
    {
        await AuthorizeAsync(Permissions.AgentsRead, Event("read"));
        var versions = await database.InTenantAsync(_tenantId, (_, transaction) => agentSql.ListVersionsAsync(transaction, _name));
        return versions.Count > 0 ? versions : throw PhantomException.NotFound("agent", _name);
    }

    /// <inheritdoc />
    public async Task<AgentView> SetEnabledAsync(bool enabled)
    {
        var audit = Event(enabled ? "enable" : "disable");
        var caller = await AuthorizeAsync(Permissions.AgentsRun, audit);
        return await changes.ApplyAsync(caller, _tenantId, audit, async (_, transaction) =>
            await agentSql.SetEnabledAsync(transaction, _name, enabled)
                ? (await agentSql.FindAgentAsync(transaction, _name, null))!
                : throw PhantomException.NotFound("agent", _name), replay: () => LoadAsync(null));
    }

    private Task<AgentView> LoadAsync(string? version) => database.InTenantAsync(_tenantId, async (_, transaction) =>
        await agentSql.FindAgentAsync(transaction, _name, version)
            ?? throw PhantomException.NotFound(version is null ? "agent" : "agent version", version is null ? _name : $"{_name}@{version}"));

    private async Task<Caller> AuthorizeAsync(string permission, AuditEvent audit)
    {
        var access = await guard.AuthorizeAsync(_tenantKey, permission, audit);
        _tenantId = access.TenantId;
        return access.Caller;
    }

    private static int Bounded(int value, int min, int max, string field) =>
        value >= min && value <= max ? value : throw PhantomException.Invalid($"{field} is from {min} to {max}.", field);

    private AuditEvent Event(string action, object? details = null) =>
        new(action == "read" ? "data_access" : "configuration_change", "agent", _name, action, AuditEvent.Success, details);
}
