using PhantomMl.Grains.Agents;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Maintenance;
using PhantomMl.Grains.Training;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// Makes sure the cluster's maintenance reminders (time partitions, orphaned artifacts, the training watchdog,
/// the agent sweep, the audit chain sweep) exist once this silo is
/// up, and runs a first partition pass so a fresh database has its time partitions at once. Every silo does
/// this; each job is a single activation and registering a reminder is idempotent, so the work happens once
/// at a time.
/// </summary>
internal sealed partial class MaintenanceStarter(
    IGrainFactory grains,
    IHostApplicationLifetime lifetime,
    ILogger<MaintenanceStarter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The silo accepts grain calls only after the host has started.
        var started = new TaskCompletionSource();
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);

        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await grains.PartitionMaintenance().EnsureScheduledAsync();
                await grains.ArtifactSweep().EnsureScheduledAsync();
                await grains.TrainingWatchdog().EnsureScheduledAsync();
                await grains.AgentSweep().EnsureScheduledAsync();
                await grains.AuditSweep().EnsureScheduledAsync();
                return;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogRetry(e, attempt);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, attempt * 2)), stoppingToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scheduling maintenance failed (attempt {Attempt}); retrying")]
    private partial void LogRetry(Exception exception, int attempt);
}
