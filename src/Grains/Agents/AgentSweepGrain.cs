using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Agents;

/// <summary>
/// See <see cref="IAgentSweepGrain"/>. Looks across tenants for executions and runs that are due (a retry whose time
/// came, a deadline that passed, an attempt silent past <see cref="AgentOptions.HeartbeatTimeout"/>, a run not moved
/// for as long) and asks each to resume; each decides for itself from its row, so a sweep that finds something
/// healthy changes nothing. Then it deletes log entries past their tenant's retention.
/// </summary>
public sealed partial class AgentSweepGrain(
    AgentSql agentSql,
    IExecutionLogStore logs,
    AccessGuard guard,
    InternalCalls internalCalls,
    IReminderTable reminders,
    IOptions<AgentOptions> options,
    TimeProvider time,
    ILogger<AgentSweepGrain> logger) : Grain, IAgentSweepGrain, IRemindable
{
    private const string ReminderName = "agent-sweep";
    private const int BatchSize = 1000;
    private const int Parallelism = 32;

    /// <inheritdoc />
    public Task EnsureScheduledAsync() => Reminders.EnsureAsync(this, reminders, ReminderName, options.Value.SweepInterval);

    /// <inheritdoc />
    public async Task<int> RunAsync()
    {
        await guard.AuthorizePlatformAsync(Permissions.ClusterOperate, new AuditEvent("system", "agent_sweep", "cluster", "run"));
        return await SweepAsync();
    }

    /// <inheritdoc />
    public Task ReceiveReminder(string reminderName, TickStatus status) => SweepAsync();

    private async Task<int> SweepAsync()
    {
        var now = time.GetUtcNow();
        var due = await agentSql.DueWorkAsync(now, now - options.Value.HeartbeatTimeout, BatchSize);
        // In chunks, on this activation's scheduler: grain calls are made from the grain's context.
        foreach (var chunk in due.Chunk(Parallelism))
        {
            await Task.WhenAll(chunk.Select(ResumeAsync));
        }

        var expired = await logs.ExpireAsync();
        LogSwept(due.Count, expired);
        return due.Count;
    }

    private async Task ResumeAsync((string Kind, string TenantKey, Guid Id) work)
    {
        try
        {
            await internalCalls.AsComponentAsync("agent-sweep", async () =>
            {
                if (work.Kind == "execution")
                {
                    await GrainFactory.AgentExecution(work.TenantKey, work.Id).ResumeAsync();
                }
                else
                {
                    await GrainFactory.WorkflowRun(work.TenantKey, work.Id).AdvanceAsync();
                }

                return true;
            });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogResumeFailed(e, work.Kind, work.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent sweep: could not resume {Kind} {Id}")]
    private partial void LogResumeFailed(Exception exception, string kind, Guid id);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent sweep: {Due} due, {Expired} log entries expired")]
    private partial void LogSwept(int due, long expired);
}
