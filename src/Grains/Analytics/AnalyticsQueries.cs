using System.Globalization;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using PhantomMl.Grains.Adapters.ClickHouse;

namespace PhantomMl.Grains.Analytics;

/// <summary>
/// The ClickHouse side of performance analytics. Every query names its tenant (or is a platform admin's), and each answer
/// comes from one query, so its totals, buckets and operations count the same rows while new ones arrive.
/// </summary>
public sealed class AnalyticsQueries(ClickHouseConnections connections)
{
    /// <summary>What a top-tenants ranking can be ordered by, and the column that holds it.</summary>
    public static readonly IReadOnlyDictionary<string, string> Rankings = new Dictionary<string, string>
    {
        ["grain_calls"] = "calls",
        ["busy_ms"] = "busy",
        ["predictions"] = "predictions",
        ["metric_points"] = "points",
    };

    /// <summary>A service series over [from, to) of one tenant (or of all, when <paramref name="tenantId"/> is null).</summary>
    public async Task<ServiceSeries> ServiceSeriesAsync(string? tenantId, string? service, string? operation, DateTimeOffset from, DateTimeOffset to,
        int bucketSeconds, CancellationToken cancellationToken = default)
    {
        var parameters = Window(from, to);
        parameters.AddParameter("tenant", tenantId ?? "");
        parameters.AddParameter("all_tenants", tenantId is null ? 1 : 0);
        parameters.AddParameter("service", service ?? "");
        parameters.AddParameter("operation", operation ?? "");
        parameters.AddParameter("bucket", (uint)bucketSeconds);

        // GROUPING SETS: per-bucket rows (kind 1), per-operation rows (kind 2) and the totals (kind 3) in one pass.
        var buckets = new List<ServiceBucket>();
        var operations = new List<OperationFigures>();
        var totals = new CallFigures(0, 0, 0, 0, 0, 0, 0);
        await using var reader = await connections.Client.ExecuteReaderAsync($"""
            SELECT toStartOfInterval(timestamp, toIntervalSecond({"{bucket:UInt32}"})) AS start, service_name, dimensions['operation'] AS operation,
                   grouping(start, service_name, operation) AS kind, {FigureColumns}
              FROM performance_metrics
             WHERE timestamp >= {"{from:DateTime64(3)}"} AND timestamp < {"{to:DateTime64(3)}"}
               AND ({"{all_tenants:UInt8}"} = 1 OR tenant_id = {"{tenant:String}"})
               AND ({"{service:String}"} = '' OR service_name = {"{service:String}"})
               AND ({"{operation:String}"} = '' OR dimensions['operation'] = {"{operation:String}"})
             GROUP BY GROUPING SETS ((start), (service_name, operation), ())
             ORDER BY kind, start
            """, parameters, null, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var figures = Figures(reader, 4);
            switch (Convert.ToInt32(reader.GetValue(3), CultureInfo.InvariantCulture))
            {
                case 3: // grouping()'s bits are (start, service, operation), 1 where rolled up: only start is grouped
                    buckets.Add(new ServiceBucket(new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(0), DateTimeKind.Utc)), figures));
                    break;
                case 4:
                    operations.Add(new OperationFigures(reader.GetString(1), reader.GetString(2), figures));
                    break;
                case 7:
                    totals = figures;
                    break;
            }
        }

        return new ServiceSeries(from, to, bucketSeconds, totals, buckets,
            [.. operations.OrderByDescending(o => o.Figures.Requests).ThenBy(o => o.Operation, StringComparer.Ordinal).Take(50)]);
    }

    /// <summary>The figures of one tenant's calls of one service over [from, to), for usage reports.</summary>
    public async Task<CallFigures> ServiceTotalsAsync(string tenantId, string service, DateTimeOffset from, DateTimeOffset to,
        CancellationToken cancellationToken = default) =>
        (await ServiceSeriesAsync(tenantId, service, null, from, to, (int)Math.Max(1, (to - from).TotalSeconds), cancellationToken)).Totals;

    /// <summary>Predictions and metric points a tenant had recorded over [from, to).</summary>
    public async Task<(long Requests, long Cached, long Rows, long Points)> RecordedWorkAsync(string tenantId, DateTimeOffset from, DateTimeOffset to,
        CancellationToken cancellationToken = default)
    {
        var parameters = Window(from, to);
        parameters.AddParameter("tenant", tenantId);
        await using var reader = await connections.Client.ExecuteReaderAsync("""
            SELECT
                (SELECT uniqExactIf(request_id, route IN ('primary', 'challenger')) FROM inference_metrics
                  WHERE tenant_id = {tenant:String} AND timestamp >= {from:DateTime64(3)} AND timestamp < {to:DateTime64(3)}),
                (SELECT uniqExactIf(request_id, route IN ('primary', 'challenger') AND cached = 1) FROM inference_metrics
                  WHERE tenant_id = {tenant:String} AND timestamp >= {from:DateTime64(3)} AND timestamp < {to:DateTime64(3)}),
                (SELECT count() FROM inference_metrics
                  WHERE tenant_id = {tenant:String} AND timestamp >= {from:DateTime64(3)} AND timestamp < {to:DateTime64(3)}),
                (SELECT count() FROM training_metrics
                  WHERE tenant_id = {tenant:String} AND timestamp >= {from:DateTime64(3)} AND timestamp < {to:DateTime64(3)})
            """, parameters, null, cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (Count(reader.GetValue(0)), Count(reader.GetValue(1)), Count(reader.GetValue(2)), Count(reader.GetValue(3)));
    }

    /// <summary>The busiest tenants over [from, to), ordered by one of <see cref="Rankings"/>.</summary>
    public async Task<List<TenantRank>> TopTenantsAsync(DateTimeOffset from, DateTimeOffset to, string by, int limit,
        CancellationToken cancellationToken = default)
    {
        var order = Rankings[by]; // a fixed column name, never the caller's text
        var parameters = Window(from, to);
        parameters.AddParameter("limit", (uint)limit);
        const string InWindow = "timestamp >= {from:DateTime64(3)} AND timestamp < {to:DateTime64(3)} AND tenant_id != ''";
        var ranks = new List<TenantRank>();
        await using var reader = await connections.Client.ExecuteReaderAsync($"""
            SELECT tenant_id, sum(calls) AS calls, sum(busy) AS busy, sum(predictions) AS predictions, sum(points) AS points
              FROM (
                SELECT tenant_id, sumIf(metric_value, metric_name = 'requests') AS calls, sumIf(metric_value, metric_name = 'latency_sum_ms') AS busy,
                       0 AS predictions, 0 AS points
                  FROM performance_metrics WHERE {InWindow} AND service_name = 'grain' GROUP BY tenant_id
                UNION ALL
                SELECT tenant_id, 0, 0, uniqExactIf(request_id, route IN ('primary', 'challenger')), 0
                  FROM inference_metrics WHERE {InWindow} GROUP BY tenant_id
                UNION ALL
                SELECT tenant_id, 0, 0, 0, count() FROM training_metrics WHERE {InWindow} GROUP BY tenant_id)
             GROUP BY tenant_id
             ORDER BY {order} DESC, tenant_id
             LIMIT {"{limit:UInt32}"}
            """, parameters, null, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var values = new[] { Number(reader.GetValue(1)), Number(reader.GetValue(2)), Number(reader.GetValue(3)), Number(reader.GetValue(4)) };
            var value = values[Rankings.Keys.ToList().IndexOf(by)];
            ranks.Add(new TenantRank(reader.GetString(0), null, null, Math.Round(value, 3), (long)values[0], (long)values[2], (long)values[3]));
        }

        return ranks;
    }

    /// <summary>Each silo's resources over [from, to), bucketed.</summary>
    public async Task<Dictionary<string, List<ResourceBucket>>> SiloResourcesAsync(DateTimeOffset from, DateTimeOffset to, int bucketSeconds,
        CancellationToken cancellationToken = default)
    {
        var parameters = Window(from, to);
        parameters.AddParameter("bucket", (uint)bucketSeconds);
        var silos = new Dictionary<string, List<ResourceBucket>>();
        await using var reader = await connections.Client.ExecuteReaderAsync("""
            SELECT resource_id, toStartOfInterval(timestamp, toIntervalSecond({bucket:UInt32})) AS start,
                   avg(cpu_percent), max(memory_mb), sum(disk_io_mb), sum(network_io_mb), avg(gpu_utilization)
              FROM resource_metrics
             WHERE resource_type = 'silo' AND timestamp >= {from:DateTime64(3)} AND timestamp < {to:DateTime64(3)}
             GROUP BY resource_id, start ORDER BY resource_id, start
            """, parameters, null, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var silo = reader.GetString(0);
            if (!silos.TryGetValue(silo, out var buckets))
            {
                silos[silo] = buckets = [];
            }

            buckets.Add(new ResourceBucket(new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc)),
                Math.Round(Number(reader.GetValue(2)), 2), Number(reader.GetValue(3)), Math.Round(Number(reader.GetValue(4)), 3),
                Math.Round(Number(reader.GetValue(5)), 3), reader.GetValue(6) is DBNull ? null : Math.Round(Number(reader.GetValue(6)), 2)));
        }

        return silos;
    }

    // Counts are sums of the interval rows; percentiles weigh each histogram bucket's upper bound by its calls.
    private const string FigureColumns = """
        sumIf(metric_value, metric_name = 'requests'), sumIf(metric_value, metric_name = 'client_errors'),
        sumIf(metric_value, metric_name = 'server_errors'), sumIf(metric_value, metric_name = 'latency_sum_ms'),
        quantilesExactWeightedIf(0.5, 0.95, 0.99)(toFloat64OrZero(dimensions['le_ms']), toUInt64(metric_value), metric_name = 'latency_ms')
        """;

    private static CallFigures Figures(System.Data.Common.DbDataReader reader, int first)
    {
        var requests = Count(reader.GetValue(first));
        var percentiles = (reader.GetValue(first + 4) as double[] ?? []).Select(p => double.IsFinite(p) ? p : 0).ToArray();
        return new CallFigures(requests, Count(reader.GetValue(first + 1)), Count(reader.GetValue(first + 2)),
            requests == 0 ? 0 : Math.Round(Number(reader.GetValue(first + 3)) / requests, 3),
            percentiles.ElementAtOrDefault(0), percentiles.ElementAtOrDefault(1), percentiles.ElementAtOrDefault(2));
    }

    private static ClickHouseParameterCollection Window(DateTimeOffset from, DateTimeOffset to)
    {
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("from", from.UtcDateTime);
        parameters.AddParameter("to", to.UtcDateTime);
        return parameters;
    }

    private static long Count(object value) => (long)Math.Round(Number(value));

    private static double Number(object value) => value is DBNull ? 0 : Convert.ToDouble(value, CultureInfo.InvariantCulture);
}
