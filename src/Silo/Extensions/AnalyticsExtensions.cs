using PhantomMl.Grains.Analytics;

namespace PhantomMl.Silo.Extensions;

/// <summary>The Analytics area: each silo's service and resource metrics, and the queries over them.</summary>
public static class AnalyticsExtensions
{
    /// <summary>Registers the silo's service metrics and resource sampler and their collectors (<c>Phantom:Analytics</c>).</summary>
    public static WebApplicationBuilder AddPhantomAnalytics(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AnalyticsOptions>().BindConfiguration(AnalyticsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<SiloResourceSampler>();
        builder.Services.AddSingleton<ResourceMetricsTable>();
        builder.Services.AddHostedService<ResourceMetricsCollector>();
        builder.Services.AddSingleton<ServiceMetrics>();
        builder.Services.AddSingleton<PerformanceMetricsTable>();
        builder.Services.AddHostedService<ServiceMetricsCollector>();
        builder.Services.AddSingleton<AnalyticsQueries>();
        builder.Services.AddSingleton<AnalyticsSql>();
        return builder;
    }

    /// <summary>Measures every HTTP request (outermost, so it sees the status the error handler answered with).</summary>
    public static WebApplication UsePhantomServiceMetrics(this WebApplication app)
    {
        app.UseMiddleware<ServiceMetricsMiddleware>();
        return app;
    }
}
