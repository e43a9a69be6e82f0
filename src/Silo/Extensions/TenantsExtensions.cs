using PhantomMl.Grains.Tenants;

namespace PhantomMl.Silo.Extensions;

/// <summary>The Tenants area: tenants, users, API keys and quotas.</summary>
public static class TenantsExtensions
{
    /// <summary>Registers the tenants' SQL and the per-silo view of each tenant's quota limits.</summary>
    public static WebApplicationBuilder AddPhantomTenants(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TenantSql>();
        builder.Services.AddSingleton<TenantLimits>();
        return builder;
    }
}
