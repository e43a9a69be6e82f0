using PhantomMl.Grains.Analytics;

namespace PhantomMl.Silo.Extensions;

/// <summary>The Analytics area: platform metrics each silo collects (so far its resources; see issue 15 for the rest).</summary>
public static class AnalyticsExtensions
{
    /// <summary>Registers the silo's resource sampler and its collector (<c>Phantom:Analytics</c>).</summary>
    public static WebApplicationBuilder AddPhantomAnalytics(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AnalyticsOptions>().BindConfiguration(AnalyticsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<SiloResourceSampler>();
        builder.Services.AddSingleton<ResourceMetricsTable>();
        builder.Services.AddHostedService<ResourceMetricsCollector>();
        return builder;
    }
}
