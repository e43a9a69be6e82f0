using Orleans.Concurrency;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Diagnostics;

/// <summary>See <see cref="IClusterGrain"/>. Stateless: any silo answers, from Orleans' management grain, after authorizing.</summary>
[StatelessWorker]
public sealed class ClusterGrain(AccessGuard guard) : Grain, IClusterGrain
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<SiloInfo>> GetSilosAsync()
    {
        await guard.AuthorizePlatformAsync(Permissions.ClusterOperate, new AuditEvent("system", "cluster", "silos", "read"));
        var hosts = await GrainFactory.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true);
        return [.. hosts
            .Select(h => new SiloInfo(h.SiloAddress.ToParsableString(), h.SiloName, h.HostName, h.Status.ToString(), h.StartTime))
            .OrderBy(s => s.Address, StringComparer.Ordinal)];
    }
}
