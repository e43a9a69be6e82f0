using PhantomMl.Grains.Agents;

namespace PhantomMl.Client;

/// <summary>Agents, executions and workflows: the same operations as the agents API under /api/v1/tenants/{tenantKey}.</summary>
public sealed partial class PhantomClient
{
    /// <summary>The platform's agent templates.</summary>
    public Task<IReadOnlyList<AgentTemplateView>> ListAgentTemplatesAsync(CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AgentTemplates().ListAsync(), cancellationToken);

    /// <summary>Publishes a template version (platform admins).</summary>
    public Task<AgentTemplateView> CreateAgentTemplateAsync(CreateAgentTemplate command, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AgentTemplates().CreateAsync(command), cancellationToken);

    /// <summary>Creates an agent or adds a version when its definition changed.</summary>
    public Task<AgentView> DefineAgentAsync(string tenantKey, string name, DefineAgent command, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Agent(tenantKey, name).DefineAsync(command), cancellationToken);

    /// <summary>An agent's latest version, or the named one.</summary>
    public Task<AgentView> GetAgentAsync(string tenantKey, string name, string? version = null, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Agent(tenantKey, name).GetAsync(version), cancellationToken);

    /// <summary>Every version of an agent, newest first.</summary>
    public Task<IReadOnlyList<AgentView>> ListAgentVersionsAsync(string tenantKey, string name, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Agent(tenantKey, name).ListVersionsAsync(), cancellationToken);

    /// <summary>The latest version of every agent.</summary>
    public Task<IReadOnlyList<AgentView>> ListAgentsAsync(string tenantKey, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AgentCatalog(tenantKey).ListAgentsAsync(), cancellationToken);

    /// <summary>Enables or disables an agent.</summary>
    public Task<AgentView> SetAgentEnabledAsync(string tenantKey, string name, bool enabled, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Agent(tenantKey, name).SetEnabledAsync(enabled), cancellationToken);

    /// <summary>Starts an execution; the id is chosen here, so a retried call after a lost answer finds the same execution.</summary>
    public Task<ExecutionView> StartExecutionAsync(string tenantKey, StartExecution command, CancellationToken cancellationToken = default)
    {
        var executionId = Guid.CreateVersion7();
        return CallAsync(grains => grains.AgentExecution(tenantKey, executionId).StartAsync(command), cancellationToken);
    }

    /// <summary>Reads an execution.</summary>
    public Task<ExecutionView> GetExecutionAsync(string tenantKey, Guid executionId, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AgentExecution(tenantKey, executionId).GetAsync(), cancellationToken);

    /// <summary>Executions, newest first.</summary>
    public Task<IReadOnlyList<ExecutionView>> ListExecutionsAsync(string tenantKey, string? status = null, string? agent = null, int limit = 100,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AgentCatalog(tenantKey).ListExecutionsAsync(status, agent, limit), cancellationToken);

    /// <summary>Cancels an execution.</summary>
    public Task<ExecutionView> CancelExecutionAsync(string tenantKey, Guid executionId, string? reason = null,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AgentExecution(tenantKey, executionId).CancelAsync(reason), cancellationToken);

    /// <summary>Approves or rejects an execution waiting for approval.</summary>
    public Task<ExecutionView> DecideExecutionAsync(string tenantKey, Guid executionId, bool approve, string? comment = null,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AgentExecution(tenantKey, executionId).DecideAsync(approve, comment), cancellationToken);

    /// <summary>A page of an execution's log.</summary>
    public Task<ExecutionLogPage> ReadExecutionLogsAsync(string tenantKey, Guid executionId, string? minLevel = null, long? after = null,
        int limit = 100, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AgentExecution(tenantKey, executionId).ReadLogsAsync(minLevel, after, limit), cancellationToken);

    /// <summary>Creates a workflow or adds a version when its definition changed.</summary>
    public Task<WorkflowView> DefineWorkflowAsync(string tenantKey, string name, DefineWorkflow command,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Workflow(tenantKey, name).DefineAsync(command), cancellationToken);

    /// <summary>A workflow's latest version, or the named one.</summary>
    public Task<WorkflowView> GetWorkflowAsync(string tenantKey, string name, int? version = null, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Workflow(tenantKey, name).GetAsync(version), cancellationToken);

    /// <summary>Starts a workflow run; the id is chosen here, so a retried call after a lost answer finds the same run.</summary>
    public Task<WorkflowRunView> StartWorkflowRunAsync(string tenantKey, StartWorkflowRun command, CancellationToken cancellationToken = default)
    {
        var runId = Guid.CreateVersion7();
        return CallAsync(grains => grains.WorkflowRun(tenantKey, runId).StartAsync(command), cancellationToken);
    }

    /// <summary>Reads a run.</summary>
    public Task<WorkflowRunView> GetWorkflowRunAsync(string tenantKey, Guid runId, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.WorkflowRun(tenantKey, runId).GetAsync(), cancellationToken);

    /// <summary>Runs, newest first.</summary>
    public Task<IReadOnlyList<WorkflowRunView>> ListWorkflowRunsAsync(string tenantKey, string? status = null, int limit = 100,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AgentCatalog(tenantKey).ListRunsAsync(status, limit), cancellationToken);

    /// <summary>Cancels a run and its executions still going.</summary>
    public Task<WorkflowRunView> CancelWorkflowRunAsync(string tenantKey, Guid runId, string? reason = null,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.WorkflowRun(tenantKey, runId).CancelAsync(reason), cancellationToken);
}
