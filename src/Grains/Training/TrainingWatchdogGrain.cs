using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Training;

/// <summary>
/// See <see cref="ITrainingWatchdogGrain"/>. Finds jobs across tenants through a security-definer function, then
/// hands each to its own grain as the "training-watchdog" component: a silent running job is failed and retried
/// (<see cref="ITrainingJobGrain.RecoverAsync"/>), a built-in job stuck in scheduled is started.
/// </summary>
public sealed partial class TrainingWatchdogGrain(
    IReminderTable reminders,
    TrainingSql trainingSql,
    InternalCalls internalCalls,
    AccessGuard guard,
    IOptions<TrainingOptions> options,
    TimeProvider time,
    ILogger<TrainingWatchdogGrain> logger) : Grain, ITrainingWatchdogGrain, IRemindable
{
    private const string ReminderName = "training-watchdog";

    /// <inheritdoc />
    public Task EnsureScheduledAsync() => Reminders.EnsureAsync(this, reminders, ReminderName, options.Value.WatchdogInterval);

    /// <inheritdoc />
    public async Task<IReadOnlyList<Guid>> RunAsync()
    {
        await guard.AuthorizePlatformAsync(Permissions.ClusterOperate,
            new AuditEvent("system", "training", "cluster", "watchdog", AuditEvent.Denied));
        return await CheckAsync();
    }

    /// <inheritdoc />
    public Task ReceiveReminder(string reminderName, TickStatus status) => CheckAsync();

    private async Task<IReadOnlyList<Guid>> CheckAsync()
    {
        var silentSince = time.GetUtcNow() - options.Value.HeartbeatTimeout;
        var stale = await trainingSql.StaleJobsAsync(silentSince, 200);

        var handled = new List<Guid>();
        foreach (var (tenantKey, jobId, status) in stale)
        {
            try
            {
                var job = GrainFactory.TrainingJob(tenantKey, jobId);
                await internalCalls.AsComponentAsync("training-watchdog",
                    () => status == "running" ? job.RecoverAsync(silentSince) : job.StartAsync());
                handled.Add(jobId);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogNotRecovered(e, jobId); // tried again on the next tick
            }
        }

        return handled;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Training watchdog could not recover job {JobId}; retrying on the next tick")]
    private partial void LogNotRecovered(Exception exception, Guid jobId);
}
