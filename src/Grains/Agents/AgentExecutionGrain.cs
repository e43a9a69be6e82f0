using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
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
    MonthlyQuotaLeases monthly,
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
        var (existing, found, limit) = await ReadForStartAsync(agentId: null, command.Agent, command.Version);
        if (existing is not null)
        {
            // The same start again (a client retrying after a lost answer) gets the execution; anything else is a conflict.
            return existing.View.Agent == command.Agent && existing.View.CreatedBy == caller.UserId && existing.View.WorkflowRunId is null
                ? existing.View
                : throw PhantomException.Conflict($"Execution {_executionId} exists; start a new execution under a new id.");
        }

        var agent = found ?? throw PhantomException.NotFound(command.Version is null ? "agent" : "agent version", command.Version is null
            ? command.Agent
            : $"{command.Agent}@{command.Version}");
        await CheckRunnableAsync(caller, audit, agent, context);
        await monthly.ConsumeAsync(_tenantId, Quotas.AgentExecutions, 1, options.Value.ExecutionQuotaLeaseSize);
        return await AdmitAsync(caller, audit, agent, context, null, null, caller.UserId, limit);
    }

    /// <inheritdoc />
    public async Task<ExecutionView> StartStepAsync(StepExecution step)
    {
        var audit = Event("start", new { step?.WorkflowRunId, step?.Step });
        var caller = await AuthorizeAsync(Permissions.AgentsRun, audit);
        ArgumentNullException.ThrowIfNull(step);
        var (existing, found, limit) = await ReadForStartAsync(step.AgentId, null, null);
        if (existing is not null)
        {
            return existing.View;
        }

        var agent = found ?? throw PhantomException.NotFound("agent version", step.AgentId.ToString());
        var context = AgentValidation.Payload(step.Context, await limits.GetAsync(_tenantId, Quotas.AgentPayloadBytes), "context");
        await CheckRunnableAsync(caller, audit, agent, context);
        await monthly.ConsumeAsync(_tenantId, Quotas.AgentExecutions, 1, options.Value.ExecutionQuotaLeaseSize);
        return await AdmitAsync(caller, audit, agent, context, step.WorkflowRunId, step.Step, step.CreatedBy, limit);
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
        var cancelled = await changes.ApplyAsync(caller, _tenantId, audit, async (_, transaction) =>
            await agentSql.EndAttemptAsync(transaction, _executionId, AgentSql.Open, row.View.Attempt, "cancelled", errorDetails: error)
            ?? throw PhantomException.Conflict("The execution changed meanwhile; read it and try again."), replay: ExistingAsync);
        await ReleaseSlotAsync();
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
        var decided = await changes.ApplyAsync(caller, _tenantId, audit, async (_, transaction) =>
            await agentSql.EndAttemptAsync(transaction, _executionId, ["running"], row.View.Attempt, approve ? "completed" : "failed",
                resultSummary: approve ? decision : null, errorDetails: approve ? null : decision)
            ?? throw PhantomException.Conflict("The execution changed meanwhile; read it and try again."), replay: ExistingAsync);
        await ReleaseSlotAsync();
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
    /// Takes one of the tenant's concurrent_agent_executions slots, then records the pending execution with its audit row;
    /// gives the slot back when the record is refused or was made before. The slot is taken and given back in single
    /// server-side statements (see <see cref="TenantSql.AdjustGaugeAsync"/>): every start and end of a tenant's executions
    /// moves the same usage row, and inside longer transactions they would queue behind each other's round trips.
    /// </summary>
    private async Task<ExecutionView> AdmitAsync(Caller caller, AuditEvent audit, AgentView agent, string context, Guid? runId, string? step,
        string createdBy, long limit)
    {
        await TakeSlotAsync(limit);
        AgentSql.ExecutionRow? admitted = null;
        try
        {
            admitted = await changes.ApplyAsync(caller, _tenantId, audit, (_, transaction) =>
                agentSql.InsertExecutionAsync(transaction, _executionId, agent, context, runId, step, createdBy),
                replay: () => Task.FromResult<AgentSql.ExecutionRow?>(null));
        }
        finally
        {
            if (admitted is null)
            {
                await ReleaseSlotAsync();
            }
        }

        if (admitted is null)
        {
            return (await ExistingAsync()).View; // recorded by an earlier try of this same request
        }

        _agent = agent;
        Kick(known: admitted);
        return admitted.View;
    }

    /// <summary>In one read: the execution if it exists, the agent version to run, and the concurrency limit afresh.</summary>
    private Task<(AgentSql.ExecutionRow? Existing, AgentView? Agent, long Limit)> ReadForStartAsync(Guid? agentId, string? name, string? version) =>
        database.InTenantAsync(_tenantId, async (connection, transaction) =>
            (await agentSql.FindExecutionAsync(transaction, _executionId),
                agentId is { } id ? await agentSql.FindAgentAsync(transaction, id) : await agentSql.FindAgentAsync(transaction, name!, version),
                (await tenantSql.LoadAsync(connection, transaction))!.EffectiveQuotas[Quotas.ConcurrentAgentExecutions]));

    /// <summary>
    /// Takes a slot within the limit read afresh. A refusal is checked against the executions actually open before it
    /// is answered: a slot whose release was lost (a silo died between an execution's end and the release) is
    /// reclaimed then, so such a loss can only delay a start, never block the tenant.
    /// </summary>
    private async Task TakeSlotAsync(long limit)
    {
        if (await tenantSql.AdjustGaugeAsync(_tenantId, Quotas.ConcurrentAgentExecutions, 1, limit))
        {
            return;
        }

        var open = await database.InTenantAsync(_tenantId, async (connection, transaction) =>
        {
            var counted = await agentSql.CountOpenExecutionsAsync(transaction);
            await tenantSql.SetGaugeAsync(connection, transaction, _tenantId, Quotas.ConcurrentAgentExecutions, counted, limit);
            return counted;
        });
        if (!await tenantSql.AdjustGaugeAsync(_tenantId, Quotas.ConcurrentAgentExecutions, 1, limit))
        {
            throw PhantomException.QuotaExceeded(Quotas.ConcurrentAgentExecutions, limit, open, 1);
        }
    }

    /// <summary>Gives a slot back once the execution has ended (or was never recorded).</summary>
    private async Task ReleaseSlotAsync() =>
        await tenantSql.AdjustGaugeAsync(_tenantId, Quotas.ConcurrentAgentExecutions, -1, await limits.GetAsync(_tenantId,
            Quotas.ConcurrentAgentExecutions));

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
