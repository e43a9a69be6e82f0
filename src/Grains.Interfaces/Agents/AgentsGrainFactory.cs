namespace PhantomMl.Grains.Agents;

/// <summary>References to the Agents area's grains, keyed by <see cref="GrainKeys"/>.</summary>
public static class AgentsGrainFactory
{
    /// <summary>One agent and its versions.</summary>
    public static IAgentGrain Agent(this IGrainFactory grains, string tenantKey, string agentName) =>
        grains.GetGrain<IAgentGrain>(GrainKeys.Named(tenantKey, agentName));

    /// <summary>A tenant's agents, executions and runs as a whole.</summary>
    public static IAgentCatalogGrain AgentCatalog(this IGrainFactory grains, string tenantKey) =>
        grains.GetGrain<IAgentCatalogGrain>(GrainKeys.Tenant(tenantKey));

    /// <summary>The platform's agent templates.</summary>
    public static IAgentTemplatesGrain AgentTemplates(this IGrainFactory grains) => grains.GetGrain<IAgentTemplatesGrain>(GrainKeys.Shared);

    /// <summary>One execution.</summary>
    public static IAgentExecutionGrain AgentExecution(this IGrainFactory grains, string tenantKey, Guid executionId) =>
        grains.GetGrain<IAgentExecutionGrain>(GrainKeys.TenantAndId(tenantKey, executionId));

    /// <summary>One workflow and its versions.</summary>
    public static IWorkflowGrain Workflow(this IGrainFactory grains, string tenantKey, string workflowName) =>
        grains.GetGrain<IWorkflowGrain>(GrainKeys.Named(tenantKey, workflowName));

    /// <summary>One workflow run.</summary>
    public static IWorkflowRunGrain WorkflowRun(this IGrainFactory grains, string tenantKey, Guid runId) =>
        grains.GetGrain<IWorkflowRunGrain>(GrainKeys.TenantAndId(tenantKey, runId));

    /// <summary>The cluster's one agent sweep.</summary>
    public static IAgentSweepGrain AgentSweep(this IGrainFactory grains) => grains.GetGrain<IAgentSweepGrain>(IAgentSweepGrain.ClusterKey);
}
