using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Agents.Actions;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Agents;

/// <summary>
/// See <see cref="IWorkflowRunGrain"/>. The run's row (with its steps' states) is the state. A run pins its definition
/// version and, per step, the agent version current when it started. Advancing is idempotent: a step's executions have
/// ids derived from the run, step and item, so starting them again (after a crash, or twice from two notifications)
/// finds the same executions. Each execution tells the run when it ends; the sweep advances runs whose messages were
/// lost. A run fails at its first failed step and stops what is still running.
/// </summary>
public sealed partial class WorkflowRunGrain(
    TenantDatabase database,
    AgentSql agentSql,
    TenantSql tenantSql,
    AgentActions actions,
    AccessGuard guard,
    AuditedChanges changes,
    InternalCalls internalCalls,
    TenantLimits limits,
    TimeProvider time,
    ILogger<WorkflowRunGrain> logger) : Grain, IWorkflowRunGrain
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private string _tenantKey = "";
    private Guid _runId;
    private Guid _tenantId;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenantKey, _runId) = GrainKeys.ParseTenantAndId(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<WorkflowRunView> StartAsync(StartWorkflowRun command)
    {
        var audit = Event("start", new { command?.Workflow, command?.Version });
        var caller = await AuthorizeAsync(Permissions.AgentsRun, audit);
        if (command is null)
        {
            throw PhantomException.Invalid("Send the workflow to run and its input.", "body");
        }

        AgentValidation.Name(command.Workflow, "workflow");
        var input = AgentValidation.Payload(command.Input, await limits.GetAsync(_tenantId, Quotas.AgentPayloadBytes), "input");
        if (await FindAsync() is { } existing)
        {
            return existing.Workflow == command.Workflow && existing.CreatedBy == caller.UserId
                ? WorkflowRunState.View(existing)
                : throw PhantomException.Conflict($"Run {_runId} exists; start a new run under a new id.");
        }

        var (workflow, state) = await database.InTenantAsync(_tenantId, async (_, transaction) =>
        {
            var workflow = await agentSql.FindWorkflowAsync(transaction, command.Workflow, command.Version)
                ?? throw PhantomException.NotFound("workflow", command.Version is null ? command.Workflow : $"{command.Workflow}@{command.Version}");
            var state = new WorkflowRunState();
            foreach (var step in WorkflowDefinition.Parse(workflow.Definition).Steps)
            {
                var agent = await agentSql.FindAgentAsync(transaction, step.Agent, null)
                    ?? throw PhantomException.Invalid($"Step '{step.Name}' runs agent '{step.Agent}', which does not exist.", "workflow");
                if (!agent.Enabled)
                {
                    throw PhantomException.Conflict($"Step '{step.Name}' runs agent '{step.Agent}', which is disabled.");
                }

                if (actions.Of(agent.AgentType).RequiredPermission is { } needed && !caller.Can(needed))
                {
                    await guard.RefuseAsync(caller, audit, needed);
                }

                state.Steps.Add(new WorkflowRunState.StepState { Name = step.Name, Agent = agent.Name, AgentId = agent.Id,
                    AgentVersion = agent.Version });
            }

            return (workflow, state);
        });

        await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
        {
            var quotas = (await tenantSql.LoadAsync(connection, transaction))!.EffectiveQuotas;
            await tenantSql.ConsumeAsync(connection, transaction, _tenantId, Quotas.ConcurrentWorkflowRuns, 1, quotas[Quotas.ConcurrentWorkflowRuns],
                time.GetUtcNow());
            await agentSql.InsertRunAsync(transaction, _runId, workflow, input, state.ToJson(), caller.UserId);
            return true;
        }, replay: () => Task.FromResult(true));
        await AdvanceCoreAsync();
        return WorkflowRunState.View((await FindAsync())!);
    }

    /// <inheritdoc />
    public async Task<WorkflowRunView> GetAsync()
    {
        await AuthorizeAsync(Permissions.AgentsRead, Event("read"));
        return WorkflowRunState.View(await ExistingAsync());
    }

    /// <inheritdoc />
    public async Task<WorkflowRunView> CancelAsync(string? reason)
    {
        var audit = Event("cancel", new { reason });
        var caller = await AuthorizeAsync(Permissions.AgentsRun, audit);
        AgentValidation.Text(reason, 1000, "reason");
        var run = await ExistingAsync();
        if (run.Status != "running")
        {
            throw PhantomException.Conflict($"Run {_runId} is {run.Status}; only a running run can be cancelled.");
        }

        var state = WorkflowRunState.Parse(run.Steps);
        foreach (var step in state.Steps.Where(step => !step.Finished))
        {
            step.Status = "cancelled";
        }

        var error = JsonSerializer.Serialize(new { cancelled = true, reason, by = caller.UserId }, Json);
        await changes.ApplyAsync(caller, _tenantId, audit, (connection, transaction) => EndAsync(connection, transaction, state, "cancelled", error),
            replay: () => Task.FromResult(true));
        await StopExecutionsAsync(reason ?? "the workflow run was cancelled");
        return WorkflowRunState.View((await FindAsync())!);
    }

    /// <inheritdoc />
    public async Task AdvanceAsync()
    {
        await AuthorizeAsync(Permissions.AgentsRun, Event("advance"));
        if (_runId != Guid.Empty)
        {
            await AdvanceCoreAsync();
        }
    }

    /// <summary>
    /// Moves the run as far as it goes now: finished executions finish their steps, steps whose dependencies are done
    /// start (or are skipped), and the run ends when a step fails or every step is done.
    /// </summary>
    private async Task AdvanceCoreAsync()
    {
        for (var round = 0; round < WorkflowDefinition.MaxSteps + 1; round++)
        {
            var run = await FindAsync();
            if (run is not { Status: "running" })
            {
                return;
            }

            var (workflow, executions) = await database.InTenantAsync(_tenantId, async (_, transaction) =>
                (await agentSql.FindWorkflowAsync(transaction, run.Workflow, run.Version),
                    (await agentSql.ListExecutionsAsync(transaction, null, null, _runId, 1000)).ToDictionary(row => row.View.Id, row => row.View)));
            var definition = WorkflowDefinition.Parse(workflow!.Definition);
            var state = WorkflowRunState.Parse(run.Steps);
            var changed = FinishSteps(state, executions);
            changed |= await StartStepsAsync(run, definition, state, executions.Count);
            var failed = state.Steps.FirstOrDefault(step => step.Status is "failed" or "cancelled");
            var status = failed is not null ? "failed" : state.Steps.All(step => step.Status is "completed" or "skipped") ? "completed" : "running";
            if (!changed && status == "running")
            {
                return;
            }

            var error = failed is null ? null : JsonSerializer.Serialize(new { step = failed.Name, error = failed.Error }, Json);
            if (status == "running")
            {
                await database.InTenantAsync(_tenantId, (_, transaction) => agentSql.UpdateRunAsync(transaction, _runId, state.ToJson(),
                    "running", null));
                continue;
            }

            var caller = Caller.Component("workflow", new ClientDetails($"workflow-run:{_runId:N}:{status}", null, null, null));
            await changes.ApplyAsync(caller, _tenantId, Event(status == "completed" ? "complete" : "fail", new { failed?.Name }),
                (connection, transaction) => EndAsync(connection, transaction, state, status, error), replay: () => Task.FromResult(true));
            if (status == "failed")
            {
                await StopExecutionsAsync($"step '{failed!.Name}' of the run failed");
            }

            return;
        }
    }

    /// <summary>Steps whose executions all ended take their outcome: the output (an array for a fan-out), or the first failure.</summary>
    private static bool FinishSteps(WorkflowRunState state, Dictionary<Guid, ExecutionView> executions)
    {
        var changed = false;
        foreach (var step in state.Steps.Where(step => step.Status == "running"))
        {
            var mine = step.Executions.Select(id => executions.GetValueOrDefault(id)).ToList();
            if (mine.FirstOrDefault(execution => execution?.Status is "failed" or "timed_out" or "cancelled") is { } failed)
            {
                step.Status = failed.Status == "cancelled" ? "cancelled" : "failed";
                step.Error = $"Execution {failed.Id} {failed.Status}: {failed.ErrorDetails}";
                changed = true;
            }
            else if (mine.All(execution => execution?.Status == "completed"))
            {
                var outputs = mine.Select(execution => JsonNode.Parse(execution!.ResultSummary ?? "{}")).ToArray();
                step.Output = (step.Executions.Count == 1 && !step.FanOut ? outputs[0] : new JsonArray(outputs))!.ToJsonString();
                step.Status = "completed";
                changed = true;
            }
        }

        return changed;
    }

    private async Task<bool> StartStepsAsync(AgentSql.RunRow run, WorkflowDefinition definition, WorkflowRunState state, int executionsSoFar)
    {
        var changed = false;
        var limit = await limits.GetAsync(_tenantId, Quotas.WorkflowRunExecutions);
        foreach (var step in definition.Ordered())
        {
            var current = state[step.Name];
            if (current.Status != "waiting" || !step.DependsOn.All(dependency => state[dependency].Status is "completed" or "skipped")
                || state.Steps.Any(other => other.Status is "failed" or "cancelled"))
            {
                continue;
            }

            var scope = state.Scope(run.Input);
            try
            {
                if (step.When is { } condition && !WorkflowDefinition.Holds(condition, scope))
                {
                    current.Status = "skipped";
                    changed = true;
                    continue;
                }

                var items = step.ForEach is null ? [null] : WorkflowDefinition.Resolve(JsonValue.Create(step.ForEach), scope) as JsonArray
                    ?? throw PhantomException.Invalid($"forEach of step '{step.Name}' is not an array.", "forEach");
                if (executionsSoFar + items.Count > limit)
                {
                    throw PhantomException.QuotaExceeded(Quotas.WorkflowRunExecutions, limit, executionsSoFar, items.Count);
                }

                var started = new List<Guid>();
                for (var i = 0; i < items.Count; i++)
                {
                    var itemScope = scope.DeepClone().AsObject();
                    itemScope["item"] = items[i]?.DeepClone();
                    itemScope["index"] = i;
                    var context = (WorkflowDefinition.Resolve(step.With, itemScope) as JsonObject ?? []).ToJsonString();
                    var executionId = DerivedId.From(_runId, $"{step.Name}/{i}");
                    await internalCalls.AsComponentAsync("workflow", () => GrainFactory.AgentExecution(_tenantKey, executionId)
                        .StartStepAsync(new StepExecution(current.AgentId, _runId, step.Name, context, run.CreatedBy)));
                    started.Add(executionId);
                }

                current.Executions = started;
                current.FanOut = step.ForEach is not null;
                current.Status = items.Count == 0 ? "completed" : "running";
                current.Output = items.Count == 0 ? "[]" : null;
                executionsSoFar += items.Count;
                changed = true;
            }
            catch (PhantomException e) when (e.Status == 429 && e.Extensions.GetValueOrDefault("quota") == Quotas.ConcurrentAgentExecutions)
            {
                // No slot now: the step stays waiting and starts when an execution ends (or at the next sweep).
                LogStepWaitsForSlot(_runId, step.Name);
            }
            catch (PhantomException e)
            {
                current.Status = "failed";
                current.Error = e.Detail;
                changed = true;
            }
        }

        return changed;
    }

    private async Task<bool> EndAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, WorkflowRunState state, string status,
        string? error)
    {
        if (!await agentSql.UpdateRunAsync(transaction, _runId, state.ToJson(), status, error))
        {
            throw PhantomException.Conflict($"Run {_runId} ended meanwhile.");
        }

        await tenantSql.ConsumeAsync(connection, transaction, _tenantId, Quotas.ConcurrentWorkflowRuns, -1,
            await limits.GetAsync(_tenantId, Quotas.ConcurrentWorkflowRuns), time.GetUtcNow());
        return true;
    }

    /// <summary>Cancels every execution of the run still going.</summary>
    private async Task StopExecutionsAsync(string reason)
    {
        var open = await database.InTenantAsync(_tenantId, (_, transaction) => agentSql.ListExecutionsAsync(transaction, null, null, _runId, 1000));
        foreach (var execution in open.Where(row => AgentSql.Open.Contains(row.View.Status)))
        {
            try
            {
                await internalCalls.AsComponentAsync("workflow", () =>
                    GrainFactory.AgentExecution(_tenantKey, execution.View.Id).CancelAsync(reason[..Math.Min(reason.Length, 1000)]));
            }
            catch (PhantomException e) when (e.Status == 409)
            {
                // It ended meanwhile.
            }
        }
    }

    private async Task<AgentSql.RunRow?> FindAsync() => _runId == Guid.Empty
        ? null
        : await database.InTenantAsync(_tenantId, (_, transaction) => agentSql.FindRunAsync(transaction, _runId));

    private async Task<AgentSql.RunRow> ExistingAsync() =>
        await FindAsync() ?? throw PhantomException.NotFound("workflow run", _runId.ToString());

    private async Task<Caller> AuthorizeAsync(string permission, AuditEvent audit)
    {
        var access = await guard.AuthorizeAsync(_tenantKey, permission, audit);
        if (_runId == Guid.Empty)
        {
            throw PhantomException.NotFound("workflow run", GrainKeys.ParseModel(this.GetPrimaryKeyString()).Name);
        }

        _tenantId = access.TenantId;
        return access.Caller;
    }

    private AuditEvent Event(string action, object? details = null) =>
        new(action == "read" ? "data_access" : "agent_execution", "workflow_run", _runId.ToString(), action, AuditEvent.Success, details);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId}: step {Step} waits for a free execution slot")]
    private partial void LogStepWaitsForSlot(Guid runId, string step);
}
