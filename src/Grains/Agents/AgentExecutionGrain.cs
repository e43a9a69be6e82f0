using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Agents.Actions;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Agents;

/// <summary>
/// See <see cref="IAgentExecutionGrain"/>. The agent_executions row is the state and is read afresh on every call; every
/// move is a conditional UPDATE from the status and attempt it expects, together with its audit row (event type
/// agent_execution) in one transaction. An attempt runs in this activation (kept alive and heartbeating by a timer
/// while it runs); a retry waits on a grain timer until its next_attempt_at. If the activation is lost (its silo died),
/// the cluster's agent sweep finds the execution due and calls <see cref="ResumeAsync"/> on a new activation, which
/// counts the lost attempt as failed and retries it, or ends a wait whose deadline passed. This file: what callers do;
/// AgentExecutionGrain.Attempts.cs: running attempts.
/// </summary>
public sealed partial class AgentExecutionGrain(
    TenantDatabase database,
    AgentSql agentSql,
    TenantSql tenantSql,
    AgentActions actions,
    AccessGuard guard,
    AuditedChanges changes,
    InternalCalls internalCalls,
    TenantLimits limits,
    IExecutionLogStore logs,
    IOptions<AgentOptions> options,
    TimeProvider time,
    ILocalSiloDetails silo,
    ILogger<AgentExecutionGrain> logger) : Grain, IAgentExecutionGrain
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private string _tenantKey = "";
    private Guid _executionId;
    private Guid _tenantId;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenantKey, _executionId) = GrainKeys.ParseTenantAndId(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<ExecutionView> StartAsync(StartExecution command)
    {
        var audit = Event("start", new { command?.Agent, command?.Version });
        var caller = await AuthorizeAsync(Permissions.AgentsRun, audit);
        if (command is null)
        {
            throw PhantomException.Invalid("Send the agent to run and its context.", "body");
        }

        AgentValidation.Name(command.Agent, "agent");
        var context = AgentValidation.Payload(command.Context, await limits.GetAsync(_tenantId, Quotas.AgentPayloadBytes), "context");
        if (await FindAsync() is { } existing)
        {
            // The same start again (a client retrying after a lost answer) gets the execution; anything else is a conflict.
            return existing.View.Agent == command.Agent && existing.View.CreatedBy == caller.UserId && existing.View.WorkflowRunId is null
                ? existing.View
                : throw PhantomException.Conflict($"Execution {_executionId} exists; start a new execution under a new id.");
        }

        var agent = await database.InTenantAsync(_tenantId, (_, transaction) => agentSql.FindAgentAsync(transaction, command.Agent, command.Version))
            ?? throw PhantomException.NotFound(command.Version is null ? "agent" : "agent version", command.Version is null
                ? command.Agent
                : $"{command.Agent}@{command.Version}");
        await CheckRunnableAsync(caller, audit, agent, context);
        await changes.ApplyAsync(caller, _tenantId, audit, (connection, transaction) =>
            AdmitAsync(connection, transaction, agent, context, null, null, caller.UserId), replay: () => Task.FromResult(true));
        Kick();
        return (await FindAsync())!.View;
    }

    /// <inheritdoc />
    public async Task<ExecutionView> StartStepAsync(StepExecution step)
    {
        var audit = Event("start", new { step?.WorkflowRunId, step?.Step });
        var caller = await AuthorizeAsync(Permissions.AgentsRun, audit);
        ArgumentNullException.ThrowIfNull(step);
        if (await FindAsync() is { } existing)
        {
            return existing.View;
        }

        var agent = await database.InTenantAsync(_tenantId, (_, transaction) => agentSql.FindAgentAsync(transaction, step.AgentId))
            ?? throw PhantomException.NotFound("agent version", step.AgentId.ToString());
        var context = AgentValidation.Payload(step.Context, await limits.GetAsync(_tenantId, Quotas.AgentPayloadBytes), "context");
        await CheckRunnableAsync(caller, audit, agent, context);
        await changes.ApplyAsync(caller, _tenantId, audit, (connection, transaction) =>
            AdmitAsync(connection, transaction, agent, context, step.WorkflowRunId, step.Step, step.CreatedBy), replay: () => Task.FromResult(true));
        Kick();
        return (await FindAsync())!.View;
    }

    /// <inheritdoc />
    public async Task<ExecutionView> GetAsync()
    {
        await AuthorizeAsync(Permissions.AgentsRead, Event("read"));
        return (await ExistingAsync()).View;
    }

    /// <inheritdoc />
    public async Task<ExecutionView> CancelAsync(string? reason)
    {
        var audit = Event("cancel", new { reason });
        var caller = await AuthorizeAsync(Permissions.AgentsRun, audit);
        AgentValidation.Text(reason, 1000, "reason");
        var row = await ExistingAsync();
        if (!AgentSql.Open.Contains(row.View.Status))
        {
            throw PhantomException.Conflict($"Execution {_executionId} is {row.View.Status}; only a pending or running one can be cancelled.");
        }

        var error = JsonSerializer.Serialize(new { cancelled = true, reason, by = caller.UserId }, Json);
        var cancelled = await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
            await EndAsync(connection, transaction, row.View.Attempt, AgentSql.Open, "cancelled", errorDetails: error)
            ?? throw PhantomException.Conflict("The execution changed meanwhile; read it and try again."), replay: ExistingAsync);
        StopLocalWork();
        // Not awaited: the run may be the one cancelling this execution, and it waits for this answer.
        _ = NotifyRunAsync(cancelled.View);
        return cancelled.View;
    }

    /// <inheritdoc />
    public async Task<ExecutionView> DecideAsync(bool approve, string? comment)
    {
        var audit = Event(approve ? "approve" : "reject", new { comment });
        var caller = await AuthorizeAsync(Permissions.AgentsApprove, audit);
        AgentValidation.Text(comment, 2000, "comment");
        var row = await ExistingAsync();
        if (row.View is not { Status: "running", WaitingFor: "approval" })
        {
            throw PhantomException.Conflict($"Execution {_executionId} is not waiting for approval (it is {row.View.Status}).");
        }

        var decision = JsonSerializer.Serialize(new { approved = approve, by = caller.UserId, comment, at = time.GetUtcNow() }, Json);
        var decided = await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
            await EndAsync(connection, transaction, row.View.Attempt, ["running"], approve ? "completed" : "failed",
                resultSummary: approve ? decision : null, errorDetails: approve ? null : decision)
            ?? throw PhantomException.Conflict("The execution changed meanwhile; read it and try again."), replay: ExistingAsync);
        await AppendLogAsync(decided, approve ? LogLevelName.Info : LogLevelName.Warning, approve ? "Approved" : "Rejected",
            new { by = caller.UserId, comment });
        _ = NotifyRunAsync(decided.View);
        return decided.View;
    }

    /// <inheritdoc />
    public async Task<ExecutionLogPage> ReadLogsAsync(string? minLevel, long? after, int limit)
    {
        await AuthorizeAsync(Permissions.AgentsRead, Event("read"));
        var level = minLevel is null ? LogLevelName.Debug
            : Enum.TryParse<LogLevelName>(minLevel, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(minLevel, out _)
                ? parsed
                : throw PhantomException.Invalid("level is debug, info, warning or error.", "level");
        if (limit is < 1 or > 1000 || after is < 0)
        {
            throw PhantomException.Invalid("limit is from 1 to 1000 and after is a cursor from an earlier page.", "limit");
        }

        await ExistingAsync();
        return await logs.ReadAsync(_tenantId, _executionId, level, after, limit);
    }

    /// <summary>
    /// Refuses what would fail anyway before anything is recorded: a disabled agent (409), a type whose work the caller
    /// may not do (403), settings the type cannot use (400).
    /// </summary>
    private async Task CheckRunnableAsync(Caller caller, AuditEvent audit, AgentView agent, string context)
    {
        if (!agent.Enabled)
        {
            throw PhantomException.Conflict($"Agent '{agent.Name}' is disabled; enable it to start executions.");
        }

        var action = actions.Of(agent.AgentType);
        if (action.RequiredPermission is { } needed && !caller.Can(needed))
        {
            await guard.RefuseAsync(caller, audit, needed);
        }

        action.Validate(AgentSettings.Merge(agent.Config, context));
    }

    /// <summary>
    /// Records the pending execution, counting it against concurrent_agent_executions (released when it ends, in the
    /// transaction that ends it) and the monthly agent_executions, both under the usage row's lock: no silo can admit
    /// one more than the limits allow.
    /// </summary>
    private async Task<bool> AdmitAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, AgentView agent, string context, Guid? runId,
        string? step, string createdBy)
    {
        var quotas = (await tenantSql.LoadAsync(connection, transaction))!.EffectiveQuotas;
        var now = time.GetUtcNow();
        await tenantSql.ConsumeAsync(connection, transaction, _tenantId, Quotas.ConcurrentAgentExecutions, 1, quotas[Quotas.ConcurrentAgentExecutions],
            now);
        await tenantSql.ConsumeAsync(connection, transaction, _tenantId, Quotas.AgentExecutions, 1, quotas[Quotas.AgentExecutions], now);
        await agentSql.InsertExecutionAsync(transaction, _executionId, agent, context, runId, step, createdBy);
        return true;
    }

    /// <summary>Ends (or parks) the execution's current attempt; a final status gives its concurrency slot back.</summary>
    private async Task<AgentSql.ExecutionRow?> EndAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int attempt, string[] from,
        string status, string? resultSummary = null, string? errorDetails = null, DateTimeOffset? nextAttemptAt = null, string? waitingFor = null,
        int logEntries = 0, int logDropped = 0)
    {
        var row = await agentSql.EndAttemptAsync(transaction, _executionId, from, attempt, status, resultSummary, errorDetails, nextAttemptAt,
            waitingFor, logEntries, logDropped);
        if (row is not null && !AgentSql.Open.Contains(status))
        {
            await tenantSql.ConsumeAsync(connection, transaction, _tenantId, Quotas.ConcurrentAgentExecutions, -1,
                await limits.GetAsync(_tenantId, Quotas.ConcurrentAgentExecutions), time.GetUtcNow());
        }

        return row;
    }

    /// <summary>Tells the execution's workflow run that it ended; a lost message is made up for by the sweep.</summary>
    private async Task NotifyRunAsync(ExecutionView execution)
    {
        if (execution.WorkflowRunId is not { } runId || AgentSql.Open.Contains(execution.Status))
        {
            return;
        }

        try
        {
            await internalCalls.AsComponentAsync("agent-executor", async () =>
            {
                await GrainFactory.WorkflowRun(_tenantKey, runId).AdvanceAsync();
                return true;
            });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogRunNotNotified(e, _executionId, runId);
        }
    }

    private async Task<AgentSql.ExecutionRow?> FindAsync() => _executionId == Guid.Empty
        ? null
        : await database.InTenantAsync(_tenantId, (_, transaction) => agentSql.FindExecutionAsync(transaction, _executionId));

    private async Task<AgentSql.ExecutionRow> ExistingAsync() =>
        await FindAsync() ?? throw PhantomException.NotFound("execution", _executionId == Guid.Empty
            ? GrainKeys.ParseModel(this.GetPrimaryKeyString()).Name
            : _executionId.ToString());

    private async Task<Caller> AuthorizeAsync(string permission, AuditEvent audit)
    {
        var access = await guard.AuthorizeAsync(_tenantKey, permission, audit);
        if (_executionId == Guid.Empty)
        {
            throw PhantomException.NotFound("execution", GrainKeys.ParseModel(this.GetPrimaryKeyString()).Name);
        }

        _tenantId = access.TenantId;
        return access.Caller;
    }

    private AuditEvent Event(string action, object? details = null) =>
        new(action == "read" ? "data_access" : "agent_execution", "agent_execution", _executionId.ToString(), action, AuditEvent.Success, details);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Execution {ExecutionId} could not tell its run {RunId} that it ended; the sweep will")]
    private partial void LogRunNotNotified(Exception exception, Guid executionId, Guid runId);
}
