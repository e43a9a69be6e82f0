using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Agents;

/// <summary>One agent of a tenant and its versions (key: <c>{tenantKey}/{agentName}</c>).</summary>
[ClientCallable]
[Alias("phantomml.agents.IAgentGrain")]
public interface IAgentGrain : IGrainWithStringKey
{
    /// <summary>Creates the agent, or adds a version when the definition differs from the latest.</summary>
    [Alias("DefineAsync")] Task<AgentView> DefineAsync(DefineAgent command);

    /// <summary>The latest version, or the named one.</summary>
    [Alias("GetAsync")] Task<AgentView> GetAsync(string? version);

    /// <summary>Every version, newest first.</summary>
    [Alias("ListVersionsAsync")] Task<IReadOnlyList<AgentView>> ListVersionsAsync();

    /// <summary>Enables or disables the agent (every version); a disabled agent starts no new execution.</summary>
    [Alias("SetEnabledAsync")] Task<AgentView> SetEnabledAsync(bool enabled);
}

/// <summary>
/// A tenant's agents as a whole (key: tenant key): listings, and the hosts its webhook agents may call.
/// </summary>
[ClientCallable]
[Alias("phantomml.agents.IAgentCatalogGrain")]
public interface IAgentCatalogGrain : IGrainWithStringKey
{
    /// <summary>The latest version of every agent, by name.</summary>
    [Alias("ListAgentsAsync")] Task<IReadOnlyList<AgentView>> ListAgentsAsync();

    /// <summary>Executions, newest first, optionally of one status or one agent.</summary>
    [Alias("ListExecutionsAsync")] Task<IReadOnlyList<ExecutionView>> ListExecutionsAsync(string? status, string? agent, int limit);

    /// <summary>Workflows (latest version of each), by name.</summary>
    [Alias("ListWorkflowsAsync")] Task<IReadOnlyList<WorkflowView>> ListWorkflowsAsync();

    /// <summary>Workflow runs, newest first, optionally of one status.</summary>
    [Alias("ListRunsAsync")] Task<IReadOnlyList<WorkflowRunView>> ListRunsAsync(string? status, int limit);

    /// <summary>The hosts webhook agents of the tenant may call.</summary>
    [Alias("GetWebhookHostsAsync")] Task<IReadOnlyList<string>> GetWebhookHostsAsync();

    /// <summary>Replaces the webhook allow-list (needs <c>agents:manage</c>).</summary>
    [Alias("SetWebhookHostsAsync")] Task<IReadOnlyList<string>> SetWebhookHostsAsync(IReadOnlyList<string> hosts);
}

/// <summary>The platform's agent templates (a stateless worker): every tenant reads them, platform admins add them.</summary>
[ClientCallable]
[Alias("phantomml.agents.IAgentTemplatesGrain")]
public interface IAgentTemplatesGrain : IGrainWithIntegerKey
{
    /// <summary>Every template, by type then version.</summary>
    [Alias("ListAsync")] Task<IReadOnlyList<AgentTemplateView>> ListAsync();

    /// <summary>Publishes a template version.</summary>
    [Alias("CreateAsync")] Task<AgentTemplateView> CreateAsync(CreateAgentTemplate command);
}

/// <summary>
/// One execution of an agent (key: <c>{tenantKey}/{executionId}</c>). Its row is its state; attempts run in the
/// activation, retries wait on grain timers, and the cluster's agent sweep (a reminder) resumes any execution whose
/// activation was lost, so a killed silo never leaves one stuck.
/// </summary>
[ClientCallable]
[Alias("phantomml.agents.IAgentExecutionGrain")]
public interface IAgentExecutionGrain : IGrainWithStringKey
{
    /// <summary>Admits and starts an execution (needs <c>agents:run</c> and what the agent's type does).</summary>
    [Alias("StartAsync")] Task<ExecutionView> StartAsync(StartExecution command);

    /// <summary>Reads the execution.</summary>
    [Alias("GetAsync")] Task<ExecutionView> GetAsync();

    /// <summary>Cancels a pending or running execution; a running attempt is stopped.</summary>
    [Alias("CancelAsync")] Task<ExecutionView> CancelAsync(string? reason);

    /// <summary>Approves or rejects an execution waiting for approval (needs <c>agents:approve</c>).</summary>
    [Alias("DecideAsync")] Task<ExecutionView> DecideAsync(bool approve, string? comment);

    /// <summary>The execution's log, oldest first, from the cursor <paramref name="after"/>, at or above <paramref name="minLevel"/>.</summary>
    [Alias("ReadLogsAsync")] Task<ExecutionLogPage> ReadLogsAsync(string? minLevel, long? after, int limit);

    /// <summary>Starts the execution of a workflow step (the run calls it; starting it again answers the same execution).</summary>
    [SiloOnly, Alias("StartStepAsync")] Task<ExecutionView> StartStepAsync(StepExecution step);

    /// <summary>The sweep found the execution due (a retry's time, a deadline, a lost attempt): brings it forward.</summary>
    [SiloOnly, Alias("ResumeAsync")] Task ResumeAsync();
}

/// <summary>One workflow of a tenant and its versions (key: <c>{tenantKey}/{workflowName}</c>).</summary>
[ClientCallable]
[Alias("phantomml.agents.IWorkflowGrain")]
public interface IWorkflowGrain : IGrainWithStringKey
{
    /// <summary>Creates the workflow, or adds a version when the definition differs from the latest.</summary>
    [Alias("DefineAsync")] Task<WorkflowView> DefineAsync(DefineWorkflow command);

    /// <summary>The latest version, or the named one.</summary>
    [Alias("GetAsync")] Task<WorkflowView> GetAsync(int? version);

    /// <summary>Every version, newest first.</summary>
    [Alias("ListVersionsAsync")] Task<IReadOnlyList<WorkflowView>> ListVersionsAsync();
}

/// <summary>
/// One run of a workflow (key: <c>{tenantKey}/{runId}</c>): starts each step's executions when its dependencies
/// completed and its condition holds, passes outputs on, and ends when every step has.
/// </summary>
[ClientCallable]
[Alias("phantomml.agents.IWorkflowRunGrain")]
public interface IWorkflowRunGrain : IGrainWithStringKey
{
    /// <summary>Admits and starts a run (needs <c>agents:run</c> and what each step's agent type does).</summary>
    [Alias("StartAsync")] Task<WorkflowRunView> StartAsync(StartWorkflowRun command);

    /// <summary>Reads the run and its steps.</summary>
    [Alias("GetAsync")] Task<WorkflowRunView> GetAsync();

    /// <summary>Cancels the run and every execution of it still going.</summary>
    [Alias("CancelAsync")] Task<WorkflowRunView> CancelAsync(string? reason);

    /// <summary>An execution of the run finished, or the sweep found the run due: moves the run forward.</summary>
    [SiloOnly, Alias("AdvanceAsync")] Task AdvanceAsync();
}

/// <summary>
/// The cluster's agent sweep (key <see cref="ClusterKey"/>), woken by a reminder: resumes executions and runs that are
/// due and whose activation may have been lost, and expires execution logs past each tenant's retention.
/// </summary>
[ClientCallable]
[Alias("phantomml.agents.IAgentSweepGrain")]
public interface IAgentSweepGrain : IGrainWithStringKey
{
    /// <summary>The only key in use.</summary>
    const string ClusterKey = "cluster";

    /// <summary>Registers the reminder (idempotent).</summary>
    [SiloOnly, Alias("EnsureScheduledAsync")] Task EnsureScheduledAsync();

    /// <summary>Sweeps now (operators: <c>cluster:operate</c>); returns how many executions and runs it resumed.</summary>
    [Alias("RunAsync")] Task<int> RunAsync();
}
