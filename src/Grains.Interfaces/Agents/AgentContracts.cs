namespace PhantomMl.Grains.Agents;

/// <summary>
/// One version of an agent. An agent is its name; every change of what it does (type, config, timeout, retries,
/// priority, resources) adds a version, and an execution keeps the version it started with. Enabling and disabling
/// apply to the agent, all versions at once.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.agents.AgentView")]
public sealed record AgentView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string Version,
    [property: Id(3)] string AgentType,
    [property: Id(4)] string? Description,
    [property: Id(5)] string Config,
    [property: Id(6)] bool Enabled,
    [property: Id(7)] int Priority,
    [property: Id(8)] int TimeoutMs,
    [property: Id(9)] int MaxRetries,
    [property: Id(10)] string? ResourceRequirements,
    [property: Id(11)] string? Template,
    [property: Id(12)] DateTimeOffset CreatedAt,
    [property: Id(13)] DateTimeOffset UpdatedAt,
    [property: Id(14)] string CreatedBy);

/// <summary>
/// Creates an agent or adds a version. Omitted members come from <see cref="Template"/> (<c>{agentType}@{version}</c>)
/// when one is named, else from the agent's latest version, else from the defaults (timeout 30 s, 3 retries).
/// The same definition as the latest version adds nothing and answers that version.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.agents.DefineAgent")]
public sealed record DefineAgent(
    [property: Id(0)] string? AgentType = null,
    [property: Id(1)] string? Config = null,
    [property: Id(2)] string? Description = null,
    [property: Id(3)] int? Priority = null,
    [property: Id(4)] int? TimeoutMs = null,
    [property: Id(5)] int? MaxRetries = null,
    [property: Id(6)] string? ResourceRequirements = null,
    [property: Id(7)] string? Template = null);

/// <summary>A platform-wide template to create agents from: a type, a version, a default config and limits.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.agents.AgentTemplateView")]
public sealed record AgentTemplateView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string AgentType,
    [property: Id(2)] string Version,
    [property: Id(3)] string Name,
    [property: Id(4)] string? Description,
    [property: Id(5)] string Config,
    [property: Id(6)] int TimeoutMs,
    [property: Id(7)] int MaxRetries,
    [property: Id(8)] DateTimeOffset CreatedAt,
    [property: Id(9)] string CreatedBy);

/// <summary>Adds a template (platform admins only); a template version never changes once published.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.agents.CreateAgentTemplate")]
public sealed record CreateAgentTemplate(
    [property: Id(0)] string AgentType,
    [property: Id(1)] string Version,
    [property: Id(2)] string Name,
    [property: Id(3)] string Config,
    [property: Id(4)] string? Description = null,
    [property: Id(5)] int TimeoutMs = 30_000,
    [property: Id(6)] int MaxRetries = 3);

/// <summary>Starts an execution of an agent: its latest version unless <see cref="Version"/> names one.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.agents.StartExecution")]
public sealed record StartExecution(
    [property: Id(0)] string Agent,
    [property: Id(1)] string? Context = null,
    [property: Id(2)] string? Version = null);

/// <summary>
/// One execution: pending → running → completed | failed | timed_out | cancelled. A failed attempt that can be retried
/// goes back to pending until <see cref="NextAttemptAt"/>; <see cref="WaitingFor"/> is <c>approval</c> while an
/// approval step waits for a person.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.agents.ExecutionView")]
public sealed record ExecutionView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Agent,
    [property: Id(2)] string AgentVersion,
    [property: Id(3)] string AgentType,
    [property: Id(4)] string Status,
    [property: Id(5)] string Context,
    [property: Id(6)] int Attempt,
    [property: Id(7)] int MaxRetries,
    [property: Id(8)] int TimeoutMs,
    [property: Id(9)] DateTimeOffset CreatedAt,
    [property: Id(10)] DateTimeOffset? StartedAt,
    [property: Id(11)] DateTimeOffset? CompletedAt,
    [property: Id(12)] DateTimeOffset? NextAttemptAt,
    [property: Id(13)] DateTimeOffset? DeadlineAt,
    [property: Id(14)] string? WaitingFor,
    [property: Id(15)] int? ExecutionTimeMs,
    [property: Id(16)] string? ResultSummary,
    [property: Id(17)] string? ErrorDetails,
    [property: Id(18)] Guid? WorkflowRunId,
    [property: Id(19)] string? Step,
    [property: Id(20)] string CreatedBy);

/// <summary>A step of a workflow run starts an execution of a version pinned when the run started.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.agents.StepExecution")]
public sealed record StepExecution(
    [property: Id(0)] Guid AgentId,
    [property: Id(1)] Guid WorkflowRunId,
    [property: Id(2)] string Step,
    [property: Id(3)] string Context,
    [property: Id(4)] string CreatedBy);

/// <summary>One entry of an execution's log.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.agents.ExecutionLogEntry")]
public sealed record ExecutionLogEntry(
    [property: Id(0)] long Sequence,
    [property: Id(1)] DateTimeOffset Timestamp,
    [property: Id(2)] string Level,
    [property: Id(3)] string Message,
    [property: Id(4)] int Attempt,
    [property: Id(5)] string? Fields);

/// <summary>A page of log entries; <see cref="Next"/> is the cursor of the following page, null at the end.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.agents.ExecutionLogPage")]
public sealed record ExecutionLogPage(
    [property: Id(0)] IReadOnlyList<ExecutionLogEntry> Entries,
    [property: Id(1)] long? Next);

/// <summary>
/// One version of a workflow: a DAG of steps (see docs/agents.md for the definition's shape). A run keeps the version
/// it started with and the agent versions that were current then.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.agents.WorkflowView")]
public sealed record WorkflowView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] int Version,
    [property: Id(3)] string? Description,
    [property: Id(4)] string Definition,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] string CreatedBy);

/// <summary>Creates a workflow or adds a version; the same definition as the latest adds nothing.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.agents.DefineWorkflow")]
public sealed record DefineWorkflow(
    [property: Id(0)] string Definition,
    [property: Id(1)] string? Description = null);

/// <summary>Starts a run of a workflow: its latest version unless <see cref="Version"/> names one.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.agents.StartWorkflowRun")]
public sealed record StartWorkflowRun(
    [property: Id(0)] string Workflow,
    [property: Id(1)] string? Input = null,
    [property: Id(2)] int? Version = null);

/// <summary>
/// A step of a run: waiting (for its dependencies), running, completed, skipped (its condition was false), failed,
/// cancelled. A fan-out step has an execution per item and its output is the list of their outputs.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.agents.WorkflowStepView")]
public sealed record WorkflowStepView(
    [property: Id(0)] string Name,
    [property: Id(1)] string Agent,
    [property: Id(2)] string AgentVersion,
    [property: Id(3)] string Status,
    [property: Id(4)] IReadOnlyList<Guid> Executions,
    [property: Id(5)] string? Output,
    [property: Id(6)] string? Error);

/// <summary>A workflow run.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.agents.WorkflowRunView")]
public sealed record WorkflowRunView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Workflow,
    [property: Id(2)] int WorkflowVersion,
    [property: Id(3)] string Status,
    [property: Id(4)] string Input,
    [property: Id(5)] IReadOnlyList<WorkflowStepView> Steps,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] DateTimeOffset? StartedAt,
    [property: Id(8)] DateTimeOffset? CompletedAt,
    [property: Id(9)] string? ErrorDetails,
    [property: Id(10)] string CreatedBy);
