using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using PhantomMl.Grains.Analytics;

namespace PhantomMl.Silo.Apis;

/// <summary>
/// Performance analytics: a tenant's service figures and monthly usage (<c>/api/v1/tenants/{tenantKey}/analytics</c>),
/// and the platform's (<c>/api/v1/cluster/analytics</c>, platform admins): every tenant's figures, the busiest tenants,
/// the silos' health. Percentiles are upper bounds of 9%-wide latency buckets; figures lag by one collection interval.
/// </summary>
public static class AnalyticsApi
{
    /// <summary>Maps the analytics API.</summary>
    public static IEndpointRouteBuilder MapAnalyticsApi(this IEndpointRouteBuilder routes)
    {
        var tenant = routes.MapGroup("/api/v1/tenants/{tenantKey}/analytics").WithTags("Analytics");
        tenant.MapGet("/service", ServiceSeriesAsync)
            .WithSummary("The tenant's requests, errors and latency percentiles (service=http|grain, operation) in time buckets, with the busiest operations");
        tenant.MapGet("/usage", UsageReportAsync)
            .WithSummary("The tenant's usage in a month (month=yyyy-MM): quota counters as enforced, and what ClickHouse recorded");

        var platform = routes.MapGroup("/api/v1/cluster/analytics").WithTags("Analytics").RequireClusterOperator();
        platform.MapGet("/service", PlatformServiceSeriesAsync).WithSummary("Every tenant's service figures, or one tenant's (tenantId)");
        platform.MapGet("/top-tenants", TopTenantsAsync)
            .WithSummary("The busiest tenants over a window (by=grain_calls|busy_ms|predictions|metric_points, default the last day)");
        platform.MapGet("/health", HealthAsync).WithSummary("The silos: membership, live resource and service values, resource usage over a window");
        return routes;
    }

    /// <summary>A silo's health as HTTP shows it: the live values as JSON objects, null when the silo has not reported lately.</summary>
    public sealed record SiloHealthView(string Name, string Address, string Status, JsonElement? LiveResources, JsonElement? LiveService,
        IReadOnlyList<ResourceBucket> Resources);

    /// <summary>The platform's health as HTTP shows it.</summary>
    public sealed record PlatformHealthView(DateTimeOffset From, DateTimeOffset To, int BucketSeconds, IReadOnlyList<SiloHealthView> Silos);

    private static async Task<Ok<ServiceSeries>> ServiceSeriesAsync(string tenantKey, string? service, string? operation, DateTimeOffset? from,
        DateTimeOffset? to, int? bucketSeconds, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Analytics().ServiceSeriesAsync(tenantKey, new ServiceSeriesQuery(service, operation, from, to, bucketSeconds)));

    private static async Task<Ok<UsageReport>> UsageReportAsync(string tenantKey, string? month, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Analytics().UsageReportAsync(tenantKey, month));

    private static async Task<Ok<ServiceSeries>> PlatformServiceSeriesAsync(Guid? tenantId, string? service, string? operation, DateTimeOffset? from,
        DateTimeOffset? to, int? bucketSeconds, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Analytics().PlatformServiceSeriesAsync(new ServiceSeriesQuery(service, operation, from, to, bucketSeconds), tenantId));

    private static async Task<Ok<TopTenants>> TopTenantsAsync(DateTimeOffset? from, DateTimeOffset? to, string? by, int? limit, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Analytics().TopTenantsAsync(from, to, by, limit));

    private static async Task<Ok<PlatformHealthView>> HealthAsync(DateTimeOffset? from, DateTimeOffset? to, int? bucketSeconds, IGrainFactory grains)
    {
        var health = await grains.Analytics().PlatformHealthAsync(from, to, bucketSeconds);
        return TypedResults.Ok(new PlatformHealthView(health.From, health.To, health.BucketSeconds, [.. health.Silos.Select(silo =>
            new SiloHealthView(silo.Name, silo.Address, silo.Status, Json(silo.LiveResources), Json(silo.LiveService), silo.Resources))]));
    }

    private static JsonElement? Json(string? text) => text is null ? null : JsonDocument.Parse(text).RootElement.Clone();
}
