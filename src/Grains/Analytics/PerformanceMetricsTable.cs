using System.Globalization;
using ClickHouse.Driver;
using PhantomMl.Grains.Adapters.ClickHouse;

namespace PhantomMl.Grains.Analytics;

/// <summary>
/// performance_metrics in ClickHouse (the design's table; 6 months TTL). One collection interval of one operation of
/// one tenant on one silo becomes a few rows, all with the interval's end as timestamp and
/// <c>dimensions = {operation, silo, interval_s}</c>:
/// <list type="bullet">
/// <item><c>requests</c>, <c>client_errors</c>, <c>server_errors</c>: counts;</item>
/// <item><c>latency_sum_ms</c>: summed latency, for the mean;</item>
/// <item><c>latency_ms</c>: one row per non-empty histogram bucket, <c>metric_value</c> = calls in the bucket and
/// <c>dimensions['le_ms']</c> = its upper bound; percentiles over any range are then
/// <c>quantileExactWeighted(q)(le_ms, calls)</c>, exact to one bucket (9%).</item>
/// </list>
/// </summary>
public sealed class PerformanceMetricsTable(ClickHouseConnections connections)
{
    /// <summary>Row metric names.</summary>
    public const string Requests = "requests", ClientErrors = "client_errors", ServerErrors = "server_errors", LatencySum = "latency_sum_ms",
        LatencyHistogram = "latency_ms";

    private static readonly string[] Columns = ["timestamp", "tenant_id", "service_name", "metric_name", "metric_value", "dimensions", "labels"];

    private static readonly Dictionary<string, string> ColumnTypes = new()
    {
        ["timestamp"] = "DateTime64(3)",
        ["tenant_id"] = "String",
        ["service_name"] = "String",
        ["metric_name"] = "String",
        ["metric_value"] = "Float64",
        ["dimensions"] = "Map(String, String)",
        ["labels"] = "Map(String, String)",
    };

    private static readonly Dictionary<string, string> NoLabels = [];

    /// <summary>The rows of one collection, ready to insert.</summary>
    public static List<object?[]> Rows(DateTimeOffset at, string silo, TimeSpan interval, IEnumerable<(string TenantId, OperationInterval Calls)> intervals)
    {
        var rows = new List<object?[]>();
        var timestamp = at.UtcDateTime;
        var seconds = interval.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        foreach (var (tenant, calls) in intervals)
        {
            var dimensions = new Dictionary<string, string> { ["operation"] = calls.Operation, ["silo"] = silo, ["interval_s"] = seconds };
            void Add(string metric, double value, Dictionary<string, string>? extra = null) =>
                rows.Add([timestamp, tenant, calls.Service, metric, value, extra ?? dimensions, NoLabels]);

            Add(Requests, calls.Calls);
            Add(ClientErrors, calls.ClientErrors);
            Add(ServerErrors, calls.ServerErrors);
            Add(LatencySum, Math.Round(calls.LatencySumMs, 3));
            foreach (var (bucket, count) in calls.Latency)
            {
                Add(LatencyHistogram, count, new Dictionary<string, string>(dimensions)
                {
                    ["le_ms"] = Analytics.LatencyHistogram.UpperBoundMs(bucket).ToString(CultureInfo.InvariantCulture),
                });
            }
        }

        return rows;
    }

    /// <summary>Inserts rows made by <see cref="Rows"/> in one INSERT.</summary>
    public Task<long> InsertAsync(IReadOnlyList<object?[]> rows, CancellationToken cancellationToken = default) =>
        connections.Client.InsertBinaryAsync("performance_metrics", Columns, rows,
            new InsertOptions { ColumnTypes = ColumnTypes, MaxDegreeOfParallelism = 1 }, cancellationToken);
}
