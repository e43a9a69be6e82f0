using System.Globalization;
using Orleans.Concurrency;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;
using StackExchange.Redis;

namespace PhantomMl.Grains.Analytics;

/// <summary>
/// See <see cref="IAnalyticsGrain"/>. Stateless: any silo answers. A tenant's figures need <c>quotas:read</c> on that
/// tenant (another tenant's are 404, as everywhere); the platform's need <c>cluster:operate</c>. Service figures lag the
/// calls by up to one collection interval (<see cref="AnalyticsOptions.ServiceInterval"/>).
/// </summary>
[StatelessWorker]
public sealed class AnalyticsGrain(AccessGuard guard, AnalyticsQueries queries, AnalyticsSql sql, TenantLimits limits,
    IConnectionMultiplexer redis, TimeProvider time) : Grain, IAnalyticsGrain
{
    private static readonly TimeSpan LongestWindow = TimeSpan.FromDays(190);

    /// <inheritdoc />
    public async Task<ServiceSeries> ServiceSeriesAsync(string tenantKey, ServiceSeriesQuery query)
    {
        var access = await guard.AuthorizeAsync(tenantKey, Permissions.QuotasRead, new AuditEvent("data_access", "analytics", "service", "read"));
        var (service, operation, from, to, bucket) = Check(query);
        return await queries.ServiceSeriesAsync(access.TenantId.ToString(), service, operation, from, to, bucket);
    }

    /// <inheritdoc />
    public async Task<ServiceSeries> PlatformServiceSeriesAsync(ServiceSeriesQuery query, Guid? tenantId)
    {
        await guard.AuthorizePlatformAsync(Permissions.ClusterOperate, new AuditEvent("system", "analytics", "service", "read"));
        var (service, operation, from, to, bucket) = Check(query);
        return await queries.ServiceSeriesAsync(tenantId?.ToString(), service, operation, from, to, bucket);
    }

    /// <inheritdoc />
    public async Task<UsageReport> UsageReportAsync(string tenantKey, string? month)
    {
        var access = await guard.AuthorizeAsync(tenantKey, Permissions.QuotasRead, new AuditEvent("data_access", "analytics", "usage", "read"));
        var start = MonthStart(month);
        var end = start.AddMonths(1);
        var counted = await sql.MonthUsageAsync(access.TenantId, start);
        var tenantLimits = await limits.GetAsync(access.TenantId);
        var lines = Quotas.All.Where(quota => quota.Kind != QuotaKind.Limit).Select(quota =>
        {
            var (operations, used) = counted.GetValueOrDefault(quota.Name);
            return new QuotaLine(quota.Name, quota.Kind.ToString().ToLowerInvariant(), used, tenantLimits[quota.Name], operations, quota.Bounds);
        }).ToList();

        var tenant = access.TenantId.ToString();
        var work = await queries.RecordedWorkAsync(tenant, start, end);
        var recorded = new RecordedUsage(work.Requests, work.Cached, work.Rows, work.Points,
            await queries.ServiceTotalsAsync(tenant, ServiceMetrics.HttpService, start, end),
            await queries.ServiceTotalsAsync(tenant, ServiceMetrics.GrainService, start, end));
        return new UsageReport(tenantKey, start.ToString("yyyy-MM", CultureInfo.InvariantCulture), start, end, lines, recorded);
    }

    /// <inheritdoc />
    public async Task<TopTenants> TopTenantsAsync(DateTimeOffset? from, DateTimeOffset? to, string? by, int? limit)
    {
        await guard.AuthorizePlatformAsync(Permissions.ClusterOperate, new AuditEvent("system", "analytics", "tenants", "read"));
        var ranking = by ?? "grain_calls";
        if (!AnalyticsQueries.Rankings.ContainsKey(ranking))
        {
            throw PhantomException.Invalid($"by is one of {string.Join(", ", AnalyticsQueries.Rankings.Keys)}.", "by");
        }

        if (limit is < 1 or > 100)
        {
            throw PhantomException.Invalid("limit must be 1-100.", "limit");
        }

        var (start, end, _) = Window(from, to, null, TimeSpan.FromDays(1));
        var ranks = await queries.TopTenantsAsync(start, end, ranking, limit ?? 10);
        var names = await sql.TenantNamesAsync([.. ranks.Select(rank => Guid.TryParse(rank.TenantId, out var id) ? id : Guid.Empty)]);
        return new TopTenants(start, end, ranking, [.. ranks.Select(rank =>
            Guid.TryParse(rank.TenantId, out var id) && names.TryGetValue(id, out var name) ? rank with { TenantKey = name.Key, Name = name.Name } : rank)]);
    }

    /// <inheritdoc />
    public async Task<PlatformHealth> PlatformHealthAsync(DateTimeOffset? from, DateTimeOffset? to, int? bucketSeconds)
    {
        await guard.AuthorizePlatformAsync(Permissions.ClusterOperate, new AuditEvent("system", "analytics", "silos", "read"));
        var (start, end, bucket) = Window(from, to, bucketSeconds, TimeSpan.FromHours(1));
        var hosts = await GrainFactory.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true);
        var history = await queries.SiloResourcesAsync(start, end, bucket);
        var database = redis.GetDatabase();
        var silos = new List<SiloHealth>();
        foreach (var host in hosts.OrderBy(host => host.SiloName, StringComparer.Ordinal))
        {
            var live = await database.StringGetAsync([ResourceMetricsCollector.LiveKey(host.SiloName), ServiceMetricsCollector.LiveKey(host.SiloName)]);
            silos.Add(new SiloHealth(host.SiloName, host.SiloAddress.ToParsableString(), host.Status.ToString(), live[0], live[1],
                history.GetValueOrDefault(host.SiloName) ?? []));
        }

        return new PlatformHealth(start, end, bucket, silos);
    }

    private (string? Service, string? Operation, DateTimeOffset From, DateTimeOffset To, int Bucket) Check(ServiceSeriesQuery? query)
    {
        query ??= new ServiceSeriesQuery();
        if (query.Service is not (null or ServiceMetrics.HttpService or ServiceMetrics.GrainService))
        {
            throw PhantomException.Invalid($"service is '{ServiceMetrics.HttpService}' or '{ServiceMetrics.GrainService}'.", "service");
        }

        if (query.Operation is { Length: 0 or > 300 } || query.Operation?.Contains('\0') == true)
        {
            throw PhantomException.Invalid("operation is an operation name from a series' operations (1-300 characters).", "operation");
        }

        var (from, to, bucket) = Window(query.From, query.To, query.BucketSeconds, TimeSpan.FromHours(1));
        return (query.Service, query.Operation, from, to, bucket);
    }

    private TimeWindow Window(DateTimeOffset? from, DateTimeOffset? to, int? bucketSeconds, TimeSpan defaultLength) =>
        TimeWindow.Check(from, to, bucketSeconds, time.GetUtcNow(), defaultLength, LongestWindow, IAnalyticsGrain.MaxBuckets);

    private DateTimeOffset MonthStart(string? month)
    {
        if (month is null)
        {
            var now = time.GetUtcNow();
            return new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        }

        return DateTime.TryParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal,
            out var parsed) && parsed.Year >= 2000 && parsed.Year <= 2100
            ? new DateTimeOffset(parsed.Year, parsed.Month, 1, 0, 0, 0, TimeSpan.Zero)
            : throw PhantomException.Invalid("month is a calendar month, yyyy-MM (2026-11).", "month");
    }
}
