namespace PhantomMl.Grains.Audit;

/// <summary>References to the Audit area's grains, keyed by <see cref="GrainKeys"/>.</summary>
public static class AuditGrainFactory
{
    /// <summary>A tenant's audit trail (<c>platform</c> for the platform's own).</summary>
    public static IAuditLogGrain AuditLog(this IGrainFactory grains,
        string tenantKey) => grains.GetGrain<IAuditLogGrain>(GrainKeys.Tenant(tenantKey));
}
