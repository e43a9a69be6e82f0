using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Security;
using StackExchange.Redis;

namespace PhantomMl.Grains.Analytics;

/// <summary>
/// Every <see cref="AnalyticsOptions.ServiceInterval"/>, drains this silo's <see cref="ServiceMetrics"/> into ClickHouse's
/// performance_metrics in one INSERT and puts the interval's busiest operations into Redis
/// (<c>phantom:live:service:{silo}</c>, expiring after three intervals). Tenant keys seen in URLs are resolved to tenant
/// ids here, off the request path. Rows an INSERT could not write are kept and sent with the next interval (up to
/// <see cref="MaxPendingRows"/>), and the last interval is written when the silo stops.
/// </summary>
public sealed partial class ServiceMetricsCollector(
    ServiceMetrics metrics,
    PerformanceMetricsTable table,
    TenantResolver tenants,
    IConnectionMultiplexer redis,
    ILocalSiloDetails silo,
    TimeProvider time,
    IOptions<AnalyticsOptions> options,
    ILogger<ServiceMetricsCollector> logger) : BackgroundService
{
    /// <summary>Most rows kept for a retry while ClickHouse cannot be written.</summary>
    public const int MaxPendingRows = 200_000;

    private List<object?[]> _pending = [];

    /// <summary>The Redis key of a silo's live service figures.</summary>
    public static string LiveKey(string silo) => $"phantom:live:service:{silo}";

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!metrics.Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.ServiceInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await CollectAsync(stoppingToken);
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (metrics.Enabled)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(TimeSpan.FromSeconds(5));
            await CollectAsync(deadline.Token); // the last interval, so a silo that stops loses nothing it counted
        }
    }

    private async Task CollectAsync(CancellationToken cancellationToken)
    {
        var interval = options.Value.ServiceInterval;
        var drained = metrics.Drain();
        try
        {
            var attributed = new List<(string, OperationInterval)>(drained.Count);
            foreach (var calls in drained)
            {
                attributed.Add((await TenantIdAsync(calls.Tenant, cancellationToken), calls));
            }

            var rows = PerformanceMetricsTable.Rows(time.GetUtcNow(), silo.Name, interval, attributed);
            var batch = _pending.Count == 0 ? rows : [.. _pending, .. rows];
            if (batch.Count > 0)
            {
                _pending = batch;
                await table.InsertAsync(batch, cancellationToken);
                _pending = [];
            }

            await PublishLiveAsync(drained, interval);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (_pending.Count > MaxPendingRows)
            {
                LogDropped(_pending.Count);
                _pending = [];
            }

            LogCollectionFailed(e, _pending.Count);
        }
    }

    private async Task<string> TenantIdAsync(TenantAttribution tenant, CancellationToken cancellationToken)
    {
        var id = tenant.TenantId;
        if (id is null && tenant.TenantKey is { } key)
        {
            try
            {
                id = await tenants.ResolveAsync(key, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogUnresolved(e, key); // the counts are kept, only their tenant is unknown
            }
        }

        return id is { } found && found != PlatformTenant.Id ? found.ToString() : "";
    }

    private Task PublishLiveAsync(List<OperationInterval> drained, TimeSpan interval)
    {
        var seconds = interval.TotalSeconds;
        var busiest = drained
            .GroupBy(calls => (calls.Service, calls.Operation))
            .Select(group => new
            {
                service = group.Key.Service,
                operation = group.Key.Operation,
                perSecond = Math.Round(group.Sum(calls => calls.Calls) / seconds, 2),
                errors = group.Sum(calls => calls.ServerErrors),
                meanMs = Math.Round(group.Sum(calls => calls.LatencySumMs) / Math.Max(1, group.Sum(calls => calls.Calls)), 3),
            })
            .OrderByDescending(operation => operation.perSecond).Take(50).ToList();
        var live = JsonSerializer.Serialize(new { silo = silo.Name, at = time.GetUtcNow(), intervalSeconds = seconds, operations = busiest },
            JsonSerializerOptions.Web);
        return redis.GetDatabase().StringSetAsync(LiveKey(silo.Name), live, interval * 3);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service metrics could not be written; {Rows} rows are kept for the next interval")]
    private partial void LogCollectionFailed(Exception exception, int rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant key {TenantKey} could not be resolved; its calls are counted without a tenant")]
    private partial void LogUnresolved(Exception exception, string tenantKey);

    [LoggerMessage(Level = LogLevel.Error, Message = "Dropped {Rows} rows of service metrics that could not be written for too long")]
    private partial void LogDropped(int rows);
}
