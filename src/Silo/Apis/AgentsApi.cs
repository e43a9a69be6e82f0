using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using PhantomMl.Grains.Agents;

namespace PhantomMl.Silo.Apis;

/// <summary>
/// Agent orchestration under <c>/api/v1/tenants/{tenantKey}</c>: agents and their versions, executions (start, follow,
/// cancel, approve or reject, logs), workflows and their runs, the webhook allow-list; and the platform's agent
/// templates under <c>/api/v1/agent-templates</c>.
/// </summary>
public static class AgentsApi
{
    /// <summary>Maps the agents API.</summary>
    public static IEndpointRouteBuilder MapAgentsApi(this IEndpointRouteBuilder routes)
    {
        var templates = routes.MapGroup("/api/v1/agent-templates").WithTags("Agents");
        templates.MapGet("/", ListTemplatesAsync).WithSummary("The platform's agent templates, by type and version");
        templates.MapPost("/", CreateTemplateAsync).WithSummary("Publish a template version (platform admins)");

        var tenant = routes.MapGroup("/api/v1/tenants/{tenantKey}").WithTags("Agents");
        tenant.MapGet("/agents", ListAgentsAsync).WithSummary("The latest version of every agent");
        tenant.MapPut("/agents/{name}", DefineAgentAsync)
            .WithSummary("Create an agent, or add a version when its definition changed (same definition: the latest version, unchanged)");
        tenant.MapGet("/agents/{name}", GetAgentAsync).WithSummary("An agent's latest version, or ?version=");
        tenant.MapGet("/agents/{name}/versions", ListAgentVersionsAsync).WithSummary("Every version of an agent, newest first");
        tenant.MapPost("/agents/{name}/enable", EnableAsync).WithSummary("Enable the agent (all versions)");
        tenant.MapPost("/agents/{name}/disable", DisableAsync).WithSummary("Disable the agent: no new executions; running ones go on");
        tenant.MapPost("/agents/{name}/executions", StartExecutionAsync)
            .WithSummary("Start an execution with a context (overlaid on the agent's config); the latest version unless version is given");

        tenant.MapGet("/agent-executions", ListExecutionsAsync).WithSummary("Executions, newest first (?status=, ?agent=, ?limit=)");
        tenant.MapGet("/agent-executions/{executionId:guid}", GetExecutionAsync).WithSummary("Read an execution");
        tenant.MapPost("/agent-executions/{executionId:guid}/cancel", CancelExecutionAsync).WithSummary("Cancel a pending or running execution");
        tenant.MapPost("/agent-executions/{executionId:guid}/approve", ApproveAsync)
            .WithSummary("Approve an execution waiting for approval (agents:approve)");
        tenant.MapPost("/agent-executions/{executionId:guid}/reject", RejectAsync)
            .WithSummary("Reject an execution waiting for approval (agents:approve): it fails, and so does its workflow run");
        tenant.MapGet("/agent-executions/{executionId:guid}/logs", ReadLogsAsync)
            .WithSummary("The execution's log, oldest first: ?level= (debug, info, warning, error), ?after= (the previous page's next), ?limit=");

        tenant.MapGet("/agent-webhook-hosts", GetWebhookHostsAsync).WithSummary("Hosts the tenant's webhook agents may call");
        tenant.MapPut("/agent-webhook-hosts", SetWebhookHostsAsync).WithSummary("Replace the webhook allow-list (agents:manage)");

        tenant.MapGet("/workflows", ListWorkflowsAsync).WithSummary("The latest version of every workflow");
        tenant.MapPut("/workflows/{name}", DefineWorkflowAsync).WithSummary("Create a workflow, or add a version when its definition changed");
        tenant.MapGet("/workflows/{name}", GetWorkflowAsync).WithSummary("A workflow's latest version, or ?version=");
        tenant.MapGet("/workflows/{name}/versions", ListWorkflowVersionsAsync).WithSummary("Every version of a workflow, newest first");
        tenant.MapPost("/workflows/{name}/runs", StartRunAsync).WithSummary("Start a run with an input; the latest version unless version is given");
        tenant.MapGet("/workflow-runs", ListRunsAsync).WithSummary("Workflow runs, newest first (?status=, ?limit=)");
        tenant.MapGet("/workflow-runs/{runId:guid}", GetRunAsync).WithSummary("Read a run and its steps");
        tenant.MapPost("/workflow-runs/{runId:guid}/cancel", CancelRunAsync).WithSummary("Cancel a run and every execution of it still going");
        return routes;
    }

    /// <summary>Body of PUT .../agents/{name}; omitted members come from the template or the latest version.</summary>
    public sealed record DefineAgentRequest(string? AgentType = null, JsonElement? Config = null, string? Description = null, int? Priority = null,
        int? TimeoutMs = null, int? MaxRetries = null, JsonElement? ResourceRequirements = null, string? Template = null);

    /// <summary>Body of POST /api/v1/agent-templates.</summary>
    public sealed record CreateTemplateRequest(string AgentType, string Version, string Name, JsonElement? Config = null, string? Description = null,
        int TimeoutMs = 30_000, int MaxRetries = 3);

    /// <summary>Body of POST .../agents/{name}/executions.</summary>
    public sealed record StartExecutionRequest(JsonElement? Context = null, string? Version = null);

    /// <summary>Body of a cancel.</summary>
    public sealed record CancelRequest(string? Reason = null);

    /// <summary>Body of an approval or rejection.</summary>
    public sealed record DecisionRequest(string? Comment = null);

    /// <summary>Body of PUT .../agent-webhook-hosts.</summary>
    public sealed record WebhookHostsRequest(IReadOnlyList<string> Hosts);

    /// <summary>Body of PUT .../workflows/{name}.</summary>
    public sealed record DefineWorkflowRequest(JsonElement? Definition = null, string? Description = null);

    /// <summary>Body of POST .../workflows/{name}/runs.</summary>
    public sealed record StartRunRequest(JsonElement? Input = null, int? Version = null);

    /// <summary>The hosts on the allow-list.</summary>
    public sealed record WebhookHosts(IReadOnlyList<string> Hosts);

    private static async Task<Ok<IReadOnlyList<AgentTemplateView>>> ListTemplatesAsync(IGrainFactory grains) =>
        TypedResults.Ok(await grains.AgentTemplates().ListAsync());

    private static async Task<Created<AgentTemplateView>> CreateTemplateAsync(CreateTemplateRequest request, IGrainFactory grains)
    {
        var template = await grains.AgentTemplates().CreateAsync(new CreateAgentTemplate(request.AgentType, request.Version, request.Name,
            JsonBody.RawOrNull(request.Config) ?? "{}", request.Description, request.TimeoutMs, request.MaxRetries));
        return TypedResults.Created($"/api/v1/agent-templates", template);
    }

    private static async Task<Ok<IReadOnlyList<AgentView>>> ListAgentsAsync(string tenantKey, IGrainFactory grains) =>
        TypedResults.Ok(await grains.AgentCatalog(tenantKey).ListAgentsAsync());

    private static async Task<Ok<AgentView>> DefineAgentAsync(string tenantKey, string name, DefineAgentRequest request, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Agent(tenantKey, name).DefineAsync(new DefineAgent(request.AgentType, JsonBody.RawOrNull(request.Config),
            request.Description, request.Priority, request.TimeoutMs, request.MaxRetries, JsonBody.RawOrNull(request.ResourceRequirements),
            request.Template)));

    private static async Task<Ok<AgentView>> GetAgentAsync(string tenantKey, string name, string? version, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Agent(tenantKey, name).GetAsync(version));

    private static async Task<Ok<IReadOnlyList<AgentView>>> ListAgentVersionsAsync(string tenantKey, string name, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Agent(tenantKey, name).ListVersionsAsync());

    private static async Task<Ok<AgentView>> EnableAsync(string tenantKey, string name, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Agent(tenantKey, name).SetEnabledAsync(true));

    private static async Task<Ok<AgentView>> DisableAsync(string tenantKey, string name, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Agent(tenantKey, name).SetEnabledAsync(false));

    private static async Task<Created<ExecutionView>> StartExecutionAsync(string tenantKey, string name, StartExecutionRequest? request,
        IGrainFactory grains)
    {
        var execution = await grains.AgentExecution(tenantKey, Guid.CreateVersion7())
            .StartAsync(new StartExecution(name, JsonBody.RawOrNull(request?.Context), request?.Version));
        return TypedResults.Created($"/api/v1/tenants/{tenantKey}/agent-executions/{execution.Id}", execution);
    }

    private static async Task<Ok<IReadOnlyList<ExecutionView>>> ListExecutionsAsync(string tenantKey, string? status, string? agent, int? limit,
        IGrainFactory grains) =>
        TypedResults.Ok(await grains.AgentCatalog(tenantKey).ListExecutionsAsync(status, agent, limit ?? 100));

    private static async Task<Ok<ExecutionView>> GetExecutionAsync(string tenantKey, Guid executionId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.AgentExecution(tenantKey, executionId).GetAsync());

    private static async Task<Ok<ExecutionView>> CancelExecutionAsync(string tenantKey, Guid executionId, CancelRequest? request,
        IGrainFactory grains) =>
        TypedResults.Ok(await grains.AgentExecution(tenantKey, executionId).CancelAsync(request?.Reason));

    private static async Task<Ok<ExecutionView>> ApproveAsync(string tenantKey, Guid executionId, DecisionRequest? request, IGrainFactory grains) =>
        TypedResults.Ok(await grains.AgentExecution(tenantKey, executionId).DecideAsync(true, request?.Comment));

    private static async Task<Ok<ExecutionView>> RejectAsync(string tenantKey, Guid executionId, DecisionRequest? request, IGrainFactory grains) =>
        TypedResults.Ok(await grains.AgentExecution(tenantKey, executionId).DecideAsync(false, request?.Comment));

    private static async Task<Ok<ExecutionLogPage>> ReadLogsAsync(string tenantKey, Guid executionId, string? level, long? after, int? limit,
        IGrainFactory grains) =>
        TypedResults.Ok(await grains.AgentExecution(tenantKey, executionId).ReadLogsAsync(level, after, limit ?? 100));

    private static async Task<Ok<WebhookHosts>> GetWebhookHostsAsync(string tenantKey, IGrainFactory grains) =>
        TypedResults.Ok(new WebhookHosts(await grains.AgentCatalog(tenantKey).GetWebhookHostsAsync()));

    private static async Task<Ok<WebhookHosts>> SetWebhookHostsAsync(string tenantKey, WebhookHostsRequest request, IGrainFactory grains) =>
        TypedResults.Ok(new WebhookHosts(await grains.AgentCatalog(tenantKey).SetWebhookHostsAsync(request.Hosts)));

    private static async Task<Ok<IReadOnlyList<WorkflowView>>> ListWorkflowsAsync(string tenantKey, IGrainFactory grains) =>
        TypedResults.Ok(await grains.AgentCatalog(tenantKey).ListWorkflowsAsync());

    private static async Task<Ok<WorkflowView>> DefineWorkflowAsync(string tenantKey, string name, DefineWorkflowRequest request,
        IGrainFactory grains) =>
        TypedResults.Ok(await grains.Workflow(tenantKey, name).DefineAsync(new DefineWorkflow(JsonBody.RawOrNull(request.Definition)!,
            request.Description)));

    private static async Task<Ok<WorkflowView>> GetWorkflowAsync(string tenantKey, string name, int? version, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Workflow(tenantKey, name).GetAsync(version));

    private static async Task<Ok<IReadOnlyList<WorkflowView>>> ListWorkflowVersionsAsync(string tenantKey, string name, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Workflow(tenantKey, name).ListVersionsAsync());

    private static async Task<Created<WorkflowRunView>> StartRunAsync(string tenantKey, string name, StartRunRequest? request, IGrainFactory grains)
    {
        var run = await grains.WorkflowRun(tenantKey, Guid.CreateVersion7())
            .StartAsync(new StartWorkflowRun(name, JsonBody.RawOrNull(request?.Input), request?.Version));
        return TypedResults.Created($"/api/v1/tenants/{tenantKey}/workflow-runs/{run.Id}", run);
    }

    private static async Task<Ok<IReadOnlyList<WorkflowRunView>>> ListRunsAsync(string tenantKey, string? status, int? limit, IGrainFactory grains) =>
        TypedResults.Ok(await grains.AgentCatalog(tenantKey).ListRunsAsync(status, limit ?? 100));

    private static async Task<Ok<WorkflowRunView>> GetRunAsync(string tenantKey, Guid runId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.WorkflowRun(tenantKey, runId).GetAsync());

    private static async Task<Ok<WorkflowRunView>> CancelRunAsync(string tenantKey, Guid runId, CancelRequest? request, IGrainFactory grains) =>
        TypedResults.Ok(await grains.WorkflowRun(tenantKey, runId).CancelAsync(request?.Reason));
}
