namespace PhantomMl.Grains.Common;

/// <summary>The cluster's periodic jobs' reminders, registered so that registering again changes nothing.</summary>
public static class Reminders
{
    /// <summary>
    /// Registers <paramref name="name"/> to fire every <paramref name="period"/> unless it is registered with that period
    /// already (read from the reminder table). Registering it again would restart its due time, so anyone doing so
    /// repeatedly (every silo as it starts) would keep postponing the job.
    /// </summary>
    public static async Task EnsureAsync(Grain grain, IReminderTable table, string name, TimeSpan period)
    {
        if (await table.ReadRow(grain.GetGrainId(), name) is { } existing && existing.Period == period)
        {
            return;
        }

        await grain.RegisterOrUpdateReminder(name, dueTime: period, period: period);
    }
}
