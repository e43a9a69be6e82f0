using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Agents.Actions;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Agents;

/// <summary>Running attempts: start, heartbeat, decide what follows, and resume what a lost activation left.</summary>
public sealed partial class AgentExecutionGrain
{
    private Task? _run;
    private CancellationTokenSource? _cancel;
    private IGrainTimer? _retryTimer;
    private IGrainTimer? _heartbeat;
    private ExecutionLog? _log;
    private AgentView? _agent;

    private bool Running => _run is { IsCompleted: false };

    /// <inheritdoc />
    public async Task ResumeAsync()
    {
        await AuthorizeAsync(Permissions.AgentsRun, Event("resume"));
        var row = await FindAsync();
        if (row is null || !AgentSql.Open.Contains(row.View.Status) || Running)
        {
            return;
        }

        var view = row.View;
        if (view.Status == "pending")
        {
            Kick(view.NextAttemptAt);
            return;
        }

        var now = time.GetUtcNow();
        if (view.WaitingFor is not null)
        {
            if (view.DeadlineAt <= now)
            {
                var error = JsonSerializer.Serialize(new { error = $"Nobody decided within {view.TimeoutMs} ms.",
                    waitingFor = view.WaitingFor }, Json);
                var ended = await TransitionAsync("timed-out", view.Attempt, (_, transaction) =>
                    agentSql.EndAttemptAsync(transaction, _executionId, ["running"], view.Attempt, "timed_out", errorDetails: error));
                if (ended is not null)
                {
                    await ReleaseSlotAsync();
                    await NotifyRunAsync(ended.View);
                }
            }

            return;
        }

        // Running, silent, and not running here: the activation that ran it is gone (there is only ever one).
        LogAttemptLost(_executionId, view.Attempt);
        var driver = Driver();
        var decision = await driver.RunAttemptAsync(view.Attempt, view.MaxRetries, TimeSpan.FromMilliseconds(view.TimeoutMs),
            _ => Task.FromResult<AgentOutcome>(new AgentOutcome.Failed($"Attempt {view.Attempt} was lost (its silo stopped).", Retryable: true)),
            CancellationToken.None);
        await FinishAttemptAsync(row, decision, new ExecutionLog(time, view.Attempt, row.LogEntries,
            await limits.GetAsync(_tenantId, Quotas.AgentLogEntriesPerExecution)));
    }

    /// <summary>
    /// Starts the next attempt now, or at <paramref name="at"/>, unless one is running or waiting here already;
    /// <paramref name="known"/> is the row when the caller has just read or written it.
    /// </summary>
    private void Kick(DateTimeOffset? at = null, AgentSql.ExecutionRow? known = null)
    {
        if (Running)
        {
            return;
        }

        _retryTimer?.Dispose();
        var due = at is { } when ? when - time.GetUtcNow() : TimeSpan.Zero;
        if (due <= TimeSpan.Zero)
        {
            _run = RunNextAsync(known);
            return;
        }

        _retryTimer = this.RegisterGrainTimer(() =>
        {
            _retryTimer?.Dispose();
            _retryTimer = null;
            if (!Running)
            {
                _run = RunNextAsync();
            }

            return Task.CompletedTask;
        }, new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private void StopLocalWork()
    {
        _retryTimer?.Dispose();
        _retryTimer = null;
        _cancel?.Cancel();
    }

    /// <summary>Runs the pending attempt, on this activation's scheduler (its awaits let other calls, such as a cancel, in).</summary>
    private async Task RunNextAsync(AgentSql.ExecutionRow? known = null)
    {
        try
        {
            var row = known ?? await FindAsync();
            if (row is not { View.Status: "pending" })
            {
                return;
            }

            if (row.View.NextAttemptAt is { } at && at > time.GetUtcNow())
            {
                _run = null;
                Kick(at);
                return;
            }

            var attempt = row.View.Attempt + 1;
            var begun = await TransitionAsync("attempt", attempt, (_, transaction) => agentSql.BeginAttemptAsync(transaction, _executionId,
                row.View.Attempt));
            if (begun is null)
            {
                return;
            }

            var agent = _agent?.Id == begun.AgentId
                ? _agent
                : await database.InTenantAsync(_tenantId, (_, transaction) => agentSql.FindAgentAsync(transaction, begun.AgentId));
            var log = new ExecutionLog(time, attempt, begun.LogEntries, await limits.GetAsync(_tenantId, Quotas.AgentLogEntriesPerExecution));
            log.Info($"Attempt {attempt} started", new
            {
                agent = begun.View.Agent, version = begun.View.AgentVersion, type = begun.View.AgentType, silo = silo.SiloAddress.ToString(),
            });
            // Written at every heartbeat (and at the end), so the log of an attempt lost with its silo survives up to its last beat.
            _log = log;
            _cancel = new CancellationTokenSource();
            _heartbeat = this.RegisterGrainTimer(HeartbeatAsync, attempt, new GrainTimerCreationOptions(options.Value.HeartbeatInterval,
                options.Value.HeartbeatInterval) { KeepAlive = true, Interleave = true });
            AttemptDecision decision;
            try
            {
                var action = actions.Of(begun.View.AgentType);
                var settings = AgentSettings.Merge(agent!.Config, begun.View.Context);
                decision = await Driver().RunAttemptAsync(attempt, begun.View.MaxRetries, TimeSpan.FromMilliseconds(begun.View.TimeoutMs),
                    token => action.RunAsync(new AgentRun(_tenantKey, _tenantId, _executionId, attempt, settings, log), token), _cancel.Token);
            }
            finally
            {
                _heartbeat.Dispose();
                _heartbeat = null;
                _log = null;
            }

            await FinishAttemptAsync(begun, decision, log);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The database or the cluster failed under the attempt: the row says where it stands, and the sweep resumes it.
            LogAttemptCrashed(e, _executionId);
        }
    }

    private async Task FinishAttemptAsync(AgentSql.ExecutionRow row, AttemptDecision decision, ExecutionLog log)
    {
        var attempt = row.View.Attempt;
        var maxPayload = await limits.GetAsync(_tenantId, Quotas.AgentPayloadBytes);
        if (decision is AttemptDecision.Complete complete && Encoding.UTF8.GetByteCount(complete.Output.ToJsonString()) > maxPayload)
        {
            decision = new AttemptDecision.Fail("failed", $"The output is larger than this tenant's agent_payload_bytes ({maxPayload}).");
        }

        switch (decision)
        {
            case AttemptDecision.Complete: log.Info($"Attempt {attempt} completed"); break;
            case AttemptDecision.Wait wait: log.Info($"Waiting for {wait.For}", new { deadline = row.View.DeadlineAt }); break;
            case AttemptDecision.Retry retry: log.Warning($"Attempt {attempt} failed; retrying", new { retry.Error, retry.At }); break;
            case AttemptDecision.Fail fail: log.Error($"Attempt {attempt} {fail.Status}", new { fail.Error }); break;
        }

        var (written, dropped) = await FlushAsync(log);
        Task<AgentSql.ExecutionRow?> End(Npgsql.NpgsqlTransaction transaction, string status, string? resultSummary = null,
            string? errorDetails = null,
            DateTimeOffset? nextAttemptAt = null, string? waitingFor = null) =>
            agentSql.EndAttemptAsync(transaction, _executionId, ["running"], attempt, status, resultSummary, errorDetails, nextAttemptAt, waitingFor,
                written, dropped);
        var ended = decision switch
        {
            AttemptDecision.Complete completed => await TransitionAsync("complete", attempt, (_, transaction) =>
                End(transaction, "completed", resultSummary: completed.Output.ToJsonString())),
            AttemptDecision.Wait wait => await TransitionAsync("wait", attempt, (_, transaction) => End(transaction, "running",
                waitingFor: wait.For)),
            AttemptDecision.Retry retry => await TransitionAsync("retry", attempt, (_, transaction) =>
                End(transaction, "pending", errorDetails: Error(retry.Error, attempt), nextAttemptAt: retry.At)),
            AttemptDecision.Fail fail => await TransitionAsync(fail.Status == "failed" ? "fail" : "time-out", attempt, (_, transaction) =>
                End(transaction, fail.Status, errorDetails: Error(fail.Error, attempt))),
            _ => null, // cancelled: the cancel moved the row already
        };

        _run = null;
        if (ended is null)
        {
            return;
        }

        if (!AgentSql.Open.Contains(ended.View.Status))
        {
            await ReleaseSlotAsync();
        }

        if (decision is AttemptDecision.Retry next)
        {
            Kick(next.At);
        }

        await NotifyRunAsync(ended.View);
    }

    /// <summary>
    /// A move made by the execution itself, audited as <c>system:agent-executor</c>. Its event id names the execution,
    /// attempt and move, so the same move repeated (after a crash) is recorded once. Null when the row had moved on.
    /// </summary>
    private async Task<AgentSql.ExecutionRow?> TransitionAsync(string action, int attempt,
        Func<Npgsql.NpgsqlConnection, Npgsql.NpgsqlTransaction, Task<AgentSql.ExecutionRow?>> change)
    {
        var caller = Caller.Component("agent-executor", new ClientDetails($"agent-execution:{_executionId:N}:{attempt}:{action}", null, null, null));
        try
        {
            return await changes.ApplyAsync<AgentSql.ExecutionRow?>(caller, _tenantId, Event(action, new { attempt }), async (connection,
                transaction) =>
                await change(connection, transaction) ?? throw PhantomException.Conflict("The execution moved on meanwhile."),
                replay: () => Task.FromResult<AgentSql.ExecutionRow?>(null));
        }
        catch (PhantomException e) when (e.Status == 409)
        {
            return null; // cancelled or decided meanwhile, or this move was made before
        }
    }

    private async Task HeartbeatAsync(int attempt, CancellationToken cancellationToken)
    {
        await database.InTenantAsync(_tenantId, async (_, transaction) =>
        {
            await agentSql.HeartbeatAsync(transaction, _executionId, attempt);
            return true;
        }, cancellationToken);
        if (_log is { } log)
        {
            await PersistLogAsync(log);
        }
    }

    /// <summary>Writes what the log holds now and counts it on the row.</summary>
    private async Task PersistLogAsync(ExecutionLog log)
    {
        var (written, dropped) = await FlushAsync(log);
        if (written > 0 || dropped > 0)
        {
            await database.InTenantAsync(_tenantId, async (_, transaction) =>
            {
                await agentSql.CountLogEntriesAsync(transaction, _executionId, written, dropped);
                return true;
            });
        }
    }

    /// <summary>
    /// Writes the attempt's log entries within the tenant's monthly agent_log_bytes; over it, they are counted as dropped
    /// rather than failing the execution.
    /// </summary>
    private async Task<(int Written, int Dropped)> FlushAsync(ExecutionLog log)
    {
        var (entries, dropped) = log.Take();
        if (entries.Count == 0)
        {
            return (0, dropped);
        }

        var bytes = entries.Sum(entry => (long)Encoding.UTF8.GetByteCount(PostgreSqlExecutionLogStore.Document(entry)));
        try
        {
            await monthly.ConsumeAsync(_tenantId, Quotas.AgentLogBytes, bytes, options.Value.LogQuotaLeaseBytes);
        }
        catch (PhantomException e) when (e.Status == 429)
        {
            return (0, dropped + entries.Count);
        }

        await logs.AppendAsync(_tenantId, _executionId, entries, (int)await limits.GetAsync(_tenantId, Quotas.AgentLogRetentionDays));
        return (entries.Count, dropped);
    }

    private async Task AppendLogAsync(AgentSql.ExecutionRow row, LogLevelName level, string message, object? fields)
    {
        var log = new ExecutionLog(time, row.View.Attempt, row.LogEntries, await limits.GetAsync(_tenantId, Quotas.AgentLogEntriesPerExecution));
        log.Write(level, message, fields);
        await PersistLogAsync(log);
    }

    private ExecutionDriver Driver() =>
        new(time, new RetryPolicy(options.Value.RetryBaseDelay, options.Value.RetryMaxDelay), Random.Shared.NextDouble);

    private static string Error(string message, int attempt) => JsonSerializer.Serialize(new { error = message, attempt }, Json);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Execution {ExecutionId} lost attempt {Attempt} with its activation")]
    private partial void LogAttemptLost(Guid executionId, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Execution {ExecutionId}: an attempt failed outside the agent's work; the sweep will resume it")]
    private partial void LogAttemptCrashed(Exception exception, Guid executionId);
}
