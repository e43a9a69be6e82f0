namespace PhantomMl.Grains.Tenants;

/// <summary>References to the Tenants area's grains, keyed by <see cref="GrainKeys"/>.</summary>
public static class TenantsGrainFactory
{
    /// <summary>One tenant, its users, keys and quotas.</summary>
    public static ITenantGrain Tenant(this IGrainFactory grains, string tenantKey) => grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantKey));

    /// <summary>Creating and listing tenants, and who the caller is.</summary>
    public static ITenantDirectoryGrain TenantDirectory(this IGrainFactory grains) => grains.GetGrain<ITenantDirectoryGrain>(GrainKeys.Shared);
}
