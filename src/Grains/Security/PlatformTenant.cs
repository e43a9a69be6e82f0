namespace PhantomMl.Grains.Security;

/// <summary>
/// The platform's own place in the audit trail: platform admins' actions that belong to no tenant (tenant creations,
/// probes, maintenance) and refused attempts of callers without a tenant are recorded under it.
/// </summary>
public static class PlatformTenant
{
    /// <summary>Its tenant id in audit rows.</summary>
    public static readonly Guid Id = Guid.Empty;

    /// <summary>Its key in the API (<c>/api/v1/tenants/platform/audit</c>); no tenant can be created with it.</summary>
    public const string Key = "platform";
}
