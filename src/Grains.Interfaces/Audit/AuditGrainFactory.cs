namespace PhantomMl.Grains.Audit;

/// <summary>References to the Audit area's grains, keyed by <see cref="GrainKeys"/>.</summary>
public static class AuditGrainFactory
{
    /// <summary>A tenant's audit trail (<c>platform</c> for the platform's own).</summary>
    public static IAuditLogGrain AuditLog(this IGrainFactory grains,
        string tenantKey) => grains.GetGrain<IAuditLogGrain>(GrainKeys.Tenant(tenantKey));

    /// <summary>The sealer of a tenant's hash chain.</summary>
    public static IAuditChainGrain AuditChain(this IGrainFactory grains, Guid tenantId) => grains.GetGrain<IAuditChainGrain>(tenantId);

    /// <summary>The cluster's audit sweep.</summary>
    public static IAuditSweepGrain AuditSweep(this IGrainFactory grains) => grains.GetGrain<IAuditSweepGrain>(IAuditSweepGrain.ClusterKey);
}
