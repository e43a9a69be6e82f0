using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Analytics;

/// <summary>
/// The platform's performance analytics, read from ClickHouse (performance_metrics, resource_metrics, inference_metrics,
/// training_metrics) and PostgreSQL (tenant_resource_usage). A tenant's members with <c>quotas:read</c> read their own
/// tenant's figures; platform admins (<c>cluster:operate</c>) read every tenant's and the silos'.
/// </summary>
[ClientCallable]
[Alias("phantomml.analytics.IAnalyticsGrain")]
public interface IAnalyticsGrain : IGrainWithIntegerKey
{
    /// <summary>Most buckets one series returns.</summary>
    const int MaxBuckets = 1_000;

    /// <summary>Requests, errors and latency percentiles of the tenant's calls, bucketed over time, with the busiest operations.</summary>
    [Alias("ServiceSeriesAsync")] Task<ServiceSeries> ServiceSeriesAsync(string tenantKey, ServiceSeriesQuery query);

    /// <summary>The tenant's usage in a calendar month (<c>yyyy-MM</c>, default the current one): quota counters and what ClickHouse recorded.</summary>
    [Alias("UsageReportAsync")] Task<UsageReport> UsageReportAsync(string tenantKey, string? month);

    /// <summary>The same series over every tenant, or over one tenant by id (platform admins).</summary>
    [Alias("PlatformServiceSeriesAsync")] Task<ServiceSeries> PlatformServiceSeriesAsync(ServiceSeriesQuery query, Guid? tenantId);

    /// <summary>The tenants that used the platform most over a window (platform admins).</summary>
    [Alias("TopTenantsAsync")] Task<TopTenants> TopTenantsAsync(DateTimeOffset? from, DateTimeOffset? to, string? by, int? limit);

    /// <summary>The silos, their live values and their resource usage over a window (platform admins).</summary>
    [Alias("PlatformHealthAsync")] Task<PlatformHealth> PlatformHealthAsync(DateTimeOffset? from, DateTimeOffset? to, int? bucketSeconds);
}

/// <summary>What a service series covers. Null members take defaults: both services, every operation, the last hour, 60 buckets.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.analytics.ServiceSeriesQuery")]
public sealed record ServiceSeriesQuery(
    [property: Id(0)] string? Service = null,
    [property: Id(1)] string? Operation = null,
    [property: Id(2)] DateTimeOffset? From = null,
    [property: Id(3)] DateTimeOffset? To = null,
    [property: Id(4)] int? BucketSeconds = null);

/// <summary>Calls over a span: counts, mean latency and percentiles (upper bounds of 9%-wide latency buckets).</summary>
[GenerateSerializer, Immutable, Alias("phantomml.analytics.CallFigures")]
public sealed record CallFigures(
    [property: Id(0)] long Requests,
    [property: Id(1)] long ClientErrors,
    [property: Id(2)] long ServerErrors,
    [property: Id(3)] double MeanMs,
    [property: Id(4)] double P50Ms,
    [property: Id(5)] double P95Ms,
    [property: Id(6)] double P99Ms);

/// <summary>One time bucket of a service series.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.analytics.ServiceBucket")]
public sealed record ServiceBucket([property: Id(0)] DateTimeOffset Start, [property: Id(1)] CallFigures Figures);

/// <summary>One operation's figures over the whole window.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.analytics.OperationFigures")]
public sealed record OperationFigures([property: Id(0)] string Service, [property: Id(1)] string Operation, [property: Id(2)] CallFigures Figures);

/// <summary>A service series: totals, buckets (only those with calls), and the 50 busiest operations.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.analytics.ServiceSeries")]
public sealed record ServiceSeries(
    [property: Id(0)] DateTimeOffset From,
    [property: Id(1)] DateTimeOffset To,
    [property: Id(2)] int BucketSeconds,
    [property: Id(3)] CallFigures Totals,
    [property: Id(4)] IReadOnlyList<ServiceBucket> Buckets,
    [property: Id(5)] IReadOnlyList<OperationFigures> Operations);

/// <summary>One quota's use in the report's month, as counted in tenant_resource_usage.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.analytics.QuotaLine")]
public sealed record QuotaLine(
    [property: Id(0)] string Resource,
    [property: Id(1)] string Kind,
    [property: Id(2)] long Used,
    [property: Id(3)] long Limit,
    [property: Id(4)] long Operations,
    [property: Id(5)] string Bounds);

/// <summary>
/// A tenant's usage in one calendar month. <see cref="Quotas"/> are the counters quotas are enforced with (monthly ones
/// for that month; gauges as they stand now); <see cref="Recorded"/> is what ClickHouse recorded over the same month.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.analytics.UsageReport")]
public sealed record UsageReport(
    [property: Id(0)] string TenantKey,
    [property: Id(1)] string Month,
    [property: Id(2)] DateTimeOffset PeriodStart,
    [property: Id(3)] DateTimeOffset PeriodEnd,
    [property: Id(4)] IReadOnlyList<QuotaLine> Quotas,
    [property: Id(5)] RecordedUsage Recorded);

/// <summary>What ClickHouse recorded of a tenant over a month.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.analytics.RecordedUsage")]
public sealed record RecordedUsage(
    [property: Id(0)] long PredictRequests,
    [property: Id(1)] long PredictRequestsCached,
    [property: Id(2)] long RowsScored,
    [property: Id(3)] long TrainingMetricPoints,
    [property: Id(4)] CallFigures HttpRequests,
    [property: Id(5)] CallFigures GrainCalls);

/// <summary>One tenant's place in a ranking.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.analytics.TenantRank")]
public sealed record TenantRank(
    [property: Id(0)] string TenantId,
    [property: Id(1)] string? TenantKey,
    [property: Id(2)] string? Name,
    [property: Id(3)] double Value,
    [property: Id(4)] long GrainCalls,
    [property: Id(5)] long Predictions,
    [property: Id(6)] long MetricPoints);

/// <summary>The busiest tenants over a window, by <see cref="By"/>.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.analytics.TopTenants")]
public sealed record TopTenants(
    [property: Id(0)] DateTimeOffset From,
    [property: Id(1)] DateTimeOffset To,
    [property: Id(2)] string By,
    [property: Id(3)] IReadOnlyList<TenantRank> Tenants);

/// <summary>One silo's resources in one time bucket (averages; memory at its highest).</summary>
[GenerateSerializer, Immutable, Alias("phantomml.analytics.ResourceBucket")]
public sealed record ResourceBucket(
    [property: Id(0)] DateTimeOffset Start,
    [property: Id(1)] double CpuPercent,
    [property: Id(2)] double MemoryMb,
    [property: Id(3)] double DiskIoMb,
    [property: Id(4)] double NetworkIoMb,
    [property: Id(5)] double? GpuUtilization);

/// <summary>A silo: its membership, its live values (null when it has not reported within three intervals), its history.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.analytics.SiloHealth")]
public sealed record SiloHealth(
    [property: Id(0)] string Name,
    [property: Id(1)] string Address,
    [property: Id(2)] string Status,
    [property: Id(3)] string? LiveResources,
    [property: Id(4)] string? LiveService,
    [property: Id(5)] IReadOnlyList<ResourceBucket> Resources);

/// <summary>The cluster's silos and their resource usage over a window.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.analytics.PlatformHealth")]
public sealed record PlatformHealth(
    [property: Id(0)] DateTimeOffset From,
    [property: Id(1)] DateTimeOffset To,
    [property: Id(2)] int BucketSeconds,
    [property: Id(3)] IReadOnlyList<SiloHealth> Silos);
