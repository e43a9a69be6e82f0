using System.Globalization;
using ClickHouse.Driver;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using PhantomMl.Grains.Adapters.ClickHouse;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// inference_metrics in ClickHouse: one row per prediction (a multi-row request writes a row per row, sharing its
/// request id and latency), inserted in RowBinary with a deduplication token; and the serving analytics, computed on
/// the server. A prediction without a confidence (a regressor's) stores NaN and is left out of confidence figures.
/// </summary>
public sealed class InferenceMetricsTable(ClickHouseConnections connections)
{
    private static readonly string[] Columns =
    [
        "timestamp", "tenant_id", "model_id", "model_version", "inference_time_ms", "inference_time_us", "confidence_score", "input_features_count",
        "prediction_type", "user_id", "session_id", "metadata", "route", "request_id", "cached",
    ];

    private static readonly Dictionary<string, string> ColumnTypes = new()
    {
        ["timestamp"] = "DateTime64(3)",
        ["tenant_id"] = "String",
        ["model_id"] = "String",
        ["model_version"] = "String",
        ["inference_time_ms"] = "UInt32",
        ["inference_time_us"] = "UInt32",
        ["confidence_score"] = "Float32",
        ["input_features_count"] = "UInt16",
        ["prediction_type"] = "String",
        ["user_id"] = "String",
        ["session_id"] = "String",
        ["metadata"] = "Map(String, String)",
        ["route"] = "LowCardinality(String)",
        ["request_id"] = "String",
        ["cached"] = "UInt8",
    };

    /// <summary>Ten columns counting the finite confidences in [0, 0.1), [0.1, 0.2) ... [0.9, 1].</summary>
    private static readonly string ConfidenceBinColumns =
        string.Join(", ", Enumerable.Range(0, 10).Select(bin => $"countIf(isFinite(confidence_score) AND bin = {bin})"));

    /// <summary>Inserts the predictions of <paramref name="records"/> as one INSERT; a retry with the same token lands once.</summary>
    public async Task<long> InsertAsync(IReadOnlyList<InferenceRecord> records, string deduplicationToken,
        CancellationToken cancellationToken = default)
    {
        var rows = records.SelectMany(record =>
        {
            var (tenant, model, micros) = (record.TenantId.ToString(), record.ModelId.ToString(),
                (uint)Math.Min(uint.MaxValue, record.InferenceMs * 1000));
            var metadata = record.Alias is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["alias"] = record.Alias };
            return record.Predictions.Select((prediction, i) => new object[]
            {
                record.At.UtcDateTime, tenant, model, record.Version, micros / 1000, micros, (float)(prediction.Confidence ?? double.NaN),
                (ushort)Math.Min(ushort.MaxValue, record.Rows[i].Count), prediction.Confidence is null ? "value" : "class", record.UserId,
                record.SessionId ?? "", metadata, record.Route, record.RequestId, record.Cached ? (byte)1 : (byte)0,
            });
        });
        var options = new InsertOptions
        {
            BatchSize = Math.Max(1, records.Sum(record => record.Predictions.Count)), // one block: the token covers all of it
            MaxDegreeOfParallelism = 1,
            ColumnTypes = ColumnTypes,
            CustomSettings = new Dictionary<string, object> { ["insert_deduplication_token"] = deduplicationToken },
        };
        return await connections.Client.InsertBinaryAsync("inference_metrics", Columns, rows, options, cancellationToken);
    }

    /// <summary>A model's serving per version and route over [from, to), in buckets of <paramref name="bucketSeconds"/>.</summary>
    public async Task<IReadOnlyList<VersionServing>> ServingAsync(Guid tenantId, Guid modelId, DateTimeOffset from, DateTimeOffset to,
        int bucketSeconds, string? version, CancellationToken cancellationToken = default)
    {
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("tenant", tenantId.ToString());
        parameters.AddParameter("model", modelId.ToString());
        parameters.AddParameter("from", from.UtcDateTime);
        parameters.AddParameter("to", to.UtcDateTime);
        parameters.AddParameter("bucket", (uint)bucketSeconds);
        parameters.AddParameter("version", version ?? "");
        const string Where = """
            tenant_id = {tenant:String} AND model_id = {model:String}
            AND timestamp >= {from:DateTime64(3)} AND timestamp < {to:DateTime64(3)}
            AND ({version:String} = '' OR model_version = {version:String})
            """;

        // One query, so the totals, the bins and the buckets all count the same rows: rows keep arriving while the
        // analytics are read, and separate queries would each see a different moment. GROUPING SETS gives the
        // per-bucket rows (grouping(start) = 0) and the per-version totals (grouping(start) = 1) in one pass.
        var rows = new List<(string Version, string Route, bool Total, DateTime Start, object[] Values)>();
        await using (var reader = await connections.Client.ExecuteReaderAsync($"""
            WITH quantiles(0.5, 0.95, 0.99)(inference_time_us) AS q,
                 least(floor(confidence_score * 10), 9) AS bin
            SELECT model_version, route, toStartOfInterval(timestamp, toIntervalSecond({"{bucket:UInt32}"})) AS start, grouping(start),
                   uniqExact(request_id), count(), uniqExactIf(request_id, cached = 1), q[1] / 1000, q[2] / 1000, q[3] / 1000,
                   avgIf(confidence_score, isFinite(confidence_score)), {ConfidenceBinColumns}
              FROM inference_metrics WHERE {Where}
             GROUP BY GROUPING SETS ((model_version, route, start), (model_version, route))
             ORDER BY model_version, route, start
            """, parameters, null, cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var values = new object[reader.FieldCount - 4];
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = reader.GetValue(i + 4);
                }

                rows.Add((reader.GetString(0), reader.GetString(1), Convert.ToInt32(reader.GetValue(3), CultureInfo.InvariantCulture) == 1,
                    DateTime.SpecifyKind(reader.GetDateTime(2), DateTimeKind.Utc), values));
            }
        }

        var buckets = rows.Where(row => !row.Total).GroupBy(row => (row.Version, row.Route)).ToDictionary(group => group.Key,
            group => group.Select(row =>
            {
                var predictions = Count(row.Values[1]);
                return new ServingBucket(new DateTimeOffset(row.Start), Count(row.Values[0]), predictions, predictions / (double)bucketSeconds,
                    Number(row.Values[3]), Number(row.Values[4]), Number(row.Values[5]), Finite(row.Values[6]));
            }).ToList());
        var versions = rows.Where(row => row.Total).Select(row => new VersionServing(row.Version, row.Route, Count(row.Values[0]),
                Count(row.Values[1]), Count(row.Values[2]), Number(row.Values[3]), Number(row.Values[4]), Number(row.Values[5]),
                Finite(row.Values[6]), row.Values[7..].Select(Count).ToList(), buckets.GetValueOrDefault((row.Version, row.Route)) ?? []))
            .ToList();
        return versions;
    }

    private static long Count(object value) => Convert.ToInt64(value, CultureInfo.InvariantCulture);

    private static double Number(object value) => Convert.ToDouble(value, CultureInfo.InvariantCulture);

    private static double? Finite(object value) => value is DBNull ? null : Number(value) is var number && double.IsFinite(number) ? number : null;
}
