using PhantomMl.Grains.Maintenance;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// Makes sure the cluster's partition maintenance reminder exists once this silo is up, and runs a
/// first pass so a fresh database has its time partitions at once. Every silo does this; the grain is
/// a single activation and registering its reminder is idempotent, so the work happens once at a time.
/// </summary>
internal sealed partial class PartitionMaintenanceStarter(
    IGrainFactory grains,
    IHostApplicationLifetime lifetime,
    ILogger<PartitionMaintenanceStarter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The silo accepts grain calls only after the host has started.
        var started = new TaskCompletionSource();
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);

        var grain = grains.GetGrain<IPartitionMaintenanceGrain>(IPartitionMaintenanceGrain.ClusterKey);
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await grain.EnsureScheduledAsync();
                return;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogRetry(e, attempt);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, attempt * 2)), stoppingToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scheduling partition maintenance failed (attempt {Attempt}); retrying")]
    private partial void LogRetry(Exception exception, int attempt);
}
