using PhantomMl.Grains.Compliance;

namespace PhantomMl.Silo.Extensions;

/// <summary>The Compliance area: reports per framework computed from the tenant's records, and GDPR access and erasure.</summary>
public static class ComplianceExtensions
{
    /// <summary>Registers the checks (thresholds and storage regions from <c>Phantom:Compliance</c>) and their SQL.</summary>
    public static WebApplicationBuilder AddPhantomCompliance(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ComplianceOptions>().BindConfiguration(ComplianceOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ComplianceSql>();
        builder.Services.AddSingleton<ComplianceChecks>();
        return builder;
    }
}
