using System.Text.Json.Nodes;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Agents;

/// <summary>
/// See <see cref="IWorkflowGrain"/>. Every version is a row that never changes, so a run that pinned a version keeps
/// running exactly that definition whatever is defined after it.
/// </summary>
public sealed class WorkflowGrain(TenantDatabase database, AgentSql agentSql, AccessGuard guard, AuditedChanges changes) : Grain, IWorkflowGrain
{
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
    public async Task<WorkflowView> DefineAsync(DefineWorkflow command)
    {
        var audit = Event("define");
        var caller = await AuthorizeAsync(Permissions.AgentsRun, audit);
        AgentValidation.Name(_name, "name");
        var definition = JsonText.ObjectOrNull(command?.Definition, AgentValidation.MaxDefinitionChars, "definition")
            ?? throw PhantomException.Invalid("Send the workflow's definition.", "definition");
        WorkflowDefinition.Parse(definition);
        AgentValidation.Text(command!.Description, 4000, "description");
        return await changes.ApplyAsync(caller, _tenantId, audit, async (_, transaction) =>
        {
            var latest = await agentSql.FindWorkflowAsync(transaction, _name, null);
            return latest is not null && latest.Description == command.Description
                && JsonNode.DeepEquals(JsonNode.Parse(latest.Definition), JsonNode.Parse(definition))
                ? latest
                : await agentSql.InsertWorkflowAsync(transaction, _name, (latest?.Version ?? 0) + 1, definition, command.Description, caller.UserId);
        }, replay: () => LoadAsync(null));
    }

    /// <inheritdoc />
    public async Task<WorkflowView> GetAsync(int? version)
    {
        await AuthorizeAsync(Permissions.AgentsRead, Event("read"));
        return await LoadAsync(version);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<WorkflowView>> ListVersionsAsync()
    {
        await AuthorizeAsync(Permissions.AgentsRead, Event("read"));
        var versions = await database.InTenantAsync(_tenantId, (_, transaction) => agentSql.ListWorkflowsAsync(transaction, _name));
        return versions.Count > 0 ? versions : throw PhantomException.NotFound("workflow", _name);
    }

    private Task<WorkflowView> LoadAsync(int? version) => database.InTenantAsync(_tenantId, async (_, transaction) =>
        await agentSql.FindWorkflowAsync(transaction, _name, version)
            ?? throw PhantomException.NotFound(version is null ? "workflow" : "workflow version", version is null ? _name : $"{_name}@{version}"));

    private async Task<Caller> AuthorizeAsync(string permission, AuditEvent audit)
    {
        var access = await guard.AuthorizeAsync(_tenantKey, permission, audit);
        _tenantId = access.TenantId;
        return access.Caller;
    }

    private AuditEvent Event(string action) =>
        new(action == "read" ? "data_access" : "configuration_change", "workflow", _name, action);
}
