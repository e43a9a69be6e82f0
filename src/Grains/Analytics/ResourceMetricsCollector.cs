using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace PhantomMl.Grains.Analytics;

/// <summary>
/// Every silo samples its own resources each <see cref="AnalyticsOptions.ResourceInterval"/>: one row into ClickHouse's
/// resource_metrics for history, and the current values in Redis (<c>phantom:live:silo:{silo}</c>, expiring after three
/// intervals, so a silo that stopped disappears from live views). Nothing here is on a request's path; a failed write
/// is logged and the next sample goes on.
/// </summary>
public sealed partial class ResourceMetricsCollector(
    SiloResourceSampler sampler,
    ResourceMetricsTable table,
    IConnectionMultiplexer redis,
    ILocalSiloDetails silo,
    IOptions<AnalyticsOptions> options,
    ILogger<ResourceMetricsCollector> logger) : BackgroundService
{
    /// <summary>The Redis key of a silo's current values.</summary>
    public static string LiveKey(string silo) => $"phantom:live:silo:{silo}";

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.ResourceInterval;
        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var sample = sampler.Sample();
            try
            {
                await table.InsertSiloAsync(silo.Name, sample, stoppingToken);
                await redis.GetDatabase().StringSetAsync(LiveKey(silo.Name), JsonSerializer.Serialize(new
                {
                    silo = silo.Name, address = silo.SiloAddress.ToParsableString(), sample.At, sample.CpuPercent, sample.MemoryMb, sample.DiskIoMb,
                    sample.NetworkIoMb, sample.GpuUtilization, sample.Details,
                }, JsonSerializerOptions.Web), interval * 3);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogSampleLost(e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A resource sample of this silo could not be written; the next one goes on")]
    private partial void LogSampleLost(Exception exception);
}
