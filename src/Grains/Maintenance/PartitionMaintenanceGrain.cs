using Microsoft.Extensions.Options;

namespace PhantomMl.Grains.Maintenance;

/// <summary>
/// See <see cref="IPartitionMaintenanceGrain"/>. A reminder (persisted in PostgreSQL) wakes this grain
/// wherever the cluster places it, so exactly one silo maintains partitions at a time, and the job
/// survives the loss of any silo. The work itself is idempotent: a pass cut short is finished by the next.
/// </summary>
public sealed class PartitionMaintenanceGrain(
    PartitionMaintainer maintainer,
    IOptions<PartitionMaintenanceOptions> options) : Grain, IPartitionMaintenanceGrain, IRemindable
{
    private const string ReminderName = "partition-maintenance";
    private PartitionMaintenanceReport? _lastReport;

    /// <inheritdoc />
    public async Task<PartitionMaintenanceReport> EnsureScheduledAsync()
    {
        var interval = options.Value.Interval;
        await this.RegisterOrUpdateReminder(ReminderName, dueTime: interval, period: interval);
        return await RunAsync();
    }

    /// <inheritdoc />
    public async Task<PartitionMaintenanceReport> RunAsync()
    {
        _lastReport = await maintainer.RunAsync();
        return _lastReport;
    }

    /// <inheritdoc />
    public Task<PartitionMaintenanceReport?> GetLastReportAsync() => Task.FromResult(_lastReport);

    /// <inheritdoc />
    public Task ReceiveReminder(string reminderName, TickStatus status) => RunAsync();
}
