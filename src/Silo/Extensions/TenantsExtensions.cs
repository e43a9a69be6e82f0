using PhantomMl.Grains.Tenants;

namespace PhantomMl.Silo.Extensions;

/// <summary>The Tenants area: tenants, users, API keys and quotas.</summary>
public static class TenantsExtensions
{
    /// <summary>Registers the tenants' SQL, the per-silo view of each tenant's quota limits, and the monthly quota leases.</summary>
    public static WebApplicationBuilder AddPhantomTenants(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TenantSql>();
        builder.Services.AddSingleton<TenantLimits>();
        // A hosted service so that a stopping silo gives its unused monthly blocks back; registered before the silo,
        // it stops after the silo's last request.
        builder.Services.AddSingleton<MonthlyQuotaLeases>();
        builder.Services.AddHostedService(services => services.GetRequiredService<MonthlyQuotaLeases>());
        return builder;
    }
}
