using PhantomMl.Grains.Analytics;

namespace PhantomMl.Client;

/// <summary>Performance analytics: the same answers as GET /api/v1/tenants/{tenantKey}/analytics and /api/v1/cluster/analytics.</summary>
public sealed partial class PhantomClient
{
    /// <summary>The tenant's requests, errors and latency percentiles over time, with its busiest operations (quotas:read).</summary>
    public Task<ServiceSeries> GetServiceSeriesAsync(string tenantKey, ServiceSeriesQuery query, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Analytics().ServiceSeriesAsync(tenantKey, query), cancellationToken);

    /// <summary>The tenant's usage in a month (yyyy-MM; null: this month): quota counters and what was recorded (quotas:read).</summary>
    public Task<UsageReport> GetUsageReportAsync(string tenantKey, string? month = null, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Analytics().UsageReportAsync(tenantKey, month), cancellationToken);

    /// <summary>Every tenant's service figures, or one tenant's (platform admins).</summary>
    public Task<ServiceSeries> GetPlatformServiceSeriesAsync(ServiceSeriesQuery query, Guid? tenantId = null,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Analytics().PlatformServiceSeriesAsync(query, tenantId), cancellationToken);

    /// <summary>The busiest tenants over a window (platform admins).</summary>
    public Task<TopTenants> GetTopTenantsAsync(DateTimeOffset? from = null, DateTimeOffset? to = null, string? by = null, int? limit = null,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Analytics().TopTenantsAsync(from, to, by, limit), cancellationToken);

    /// <summary>The silos, their live values and resource history (platform admins).</summary>
    public Task<PlatformHealth> GetPlatformHealthAsync(DateTimeOffset? from = null, DateTimeOffset? to = null, int? bucketSeconds = null,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Analytics().PlatformHealthAsync(from, to, bucketSeconds), cancellationToken);
}
