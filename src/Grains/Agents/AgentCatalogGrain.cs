using System.Globalization;
using System.Net;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Agents;

/// <summary>See <see cref="IAgentCatalogGrain"/>. Reads the tables; holds nothing between calls.</summary>
public sealed class AgentCatalogGrain(TenantDatabase database, AgentSql agentSql, AccessGuard guard, AuditedChanges changes)
    : Grain, IAgentCatalogGrain
{
    /// <summary>Most hosts on a tenant's webhook allow-list.</summary>
    public const int MaxWebhookHosts = 100;

    private static readonly string[] Statuses = ["pending", "running", "completed", "failed", "cancelled", "timed_out"];

    /// <inheritdoc />
    public async Task<IReadOnlyList<AgentView>> ListAgentsAsync()
    {
        var tenantId = await AuthorizeAsync(Permissions.AgentsRead, Event("agent", "read"));
        return await database.InTenantAsync(tenantId, (_, transaction) => agentSql.ListAgentsAsync(transaction));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ExecutionView>> ListExecutionsAsync(string? status, string? agent, int limit)
    {
        var tenantId = await AuthorizeAsync(Permissions.AgentsRead, Event("execution", "read"));
        CheckListing(status, limit);
        var rows = await database.InTenantAsync(tenantId, (_, transaction) => agentSql.ListExecutionsAsync(transaction, status, agent, null, limit));
        return rows.Select(row => row.View).ToList();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<WorkflowView>> ListWorkflowsAsync()
    {
        var tenantId = await AuthorizeAsync(Permissions.AgentsRead, Event("workflow", "read"));
        return await database.InTenantAsync(tenantId, (_, transaction) => agentSql.ListWorkflowsAsync(transaction, null));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<WorkflowRunView>> ListRunsAsync(string? status, int limit)
    {
        var tenantId = await AuthorizeAsync(Permissions.AgentsRead, Event("workflow_run", "read"));
        CheckListing(status, limit);
        var rows = await database.InTenantAsync(tenantId, (_, transaction) => agentSql.ListRunsAsync(transaction, status, limit));
        return rows.Select(WorkflowRunState.View).ToList();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> GetWebhookHostsAsync()
    {
        var tenantId = await AuthorizeAsync(Permissions.AgentsRead, Event("webhook_hosts", "read"));
        return await agentSql.ListWebhookHostsAsync(tenantId);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> SetWebhookHostsAsync(IReadOnlyList<string> hosts)
    {
        var audit = Event("webhook_hosts", "replace", new { hosts });
        var access = await guard.AuthorizeAsync(this.GetPrimaryKeyString(), Permissions.AgentsManage, audit);
        if (hosts is null || hosts.Count > MaxWebhookHosts)
        {
            throw PhantomException.Invalid($"Send 0 to {MaxWebhookHosts} hosts.", "hosts");
        }

        var normalized = hosts.Select(host => host is { Length: > 0 and <= 253 } && Uri.CheckHostName(host) is not UriHostNameType.Unknown
                && !host.Contains('/') && !host.Contains(':') || IPAddress.TryParse(host, out _)
                ? host.ToLower(CultureInfo.InvariantCulture)
                : throw PhantomException.Invalid($"'{host}' is not a host name or address.", "hosts"))
            .Distinct().Order(StringComparer.Ordinal).ToList();
        return await changes.ApplyAsync<IReadOnlyList<string>>(access.Caller, access.TenantId, audit, async (_, transaction) =>
        {
            await agentSql.ReplaceWebhookHostsAsync(transaction, normalized, access.Caller.UserId);
            return (IReadOnlyList<string>)normalized;
        }, replay: async () => await agentSql.ListWebhookHostsAsync(access.TenantId));
    }

    private static void CheckListing(string? status, int limit)
    {
        if (status is not null && !Statuses.Contains(status))
        {
            throw PhantomException.Invalid($"status is one of {string.Join(", ", Statuses)}.", "status");
        }

        if (limit is < 1 or > 500)
        {
            throw PhantomException.Invalid("limit is from 1 to 500.", "limit");
        }
    }

    private async Task<Guid> AuthorizeAsync(string permission, AuditEvent audit) =>
        (await guard.AuthorizeAsync(this.GetPrimaryKeyString(), permission, audit)).TenantId;

    private AuditEvent Event(string resource, string action, object? details = null) =>
        new(action == "read" ? "data_access" : "configuration_change", resource, this.GetPrimaryKeyString(), action, AuditEvent.Success, details);
}
