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

        var bins = new Dictionary<(string, string), long[]>();
        await using (var reader = await connections.Client.ExecuteReaderAsync($"""
            SELECT model_version, route, least(toUInt8(floor(confidence_score * 10)), 9) AS bin, count()
              FROM inference_metrics WHERE {Where} AND isFinite(confidence_score)
             GROUP BY model_version, route, bin
            """, parameters, null, cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var key = (reader.GetString(0), reader.GetString(1));
                (bins.TryGetValue(key, out var counts) ? counts : bins[key] = new long[10])[Convert.ToInt32(reader.GetValue(2),
                    CultureInfo.InvariantCulture)] =
                    Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture);
            }
        }

        var buckets = new Dictionary<(string, string), List<ServingBucket>>();
        await using (var reader = await connections.Client.ExecuteReaderAsync($"""
            WITH quantiles(0.5, 0.95, 0.99)(inference_time_us) AS q
            SELECT model_version, route, toStartOfInterval(timestamp, toIntervalSecond({"{bucket:UInt32}"})) AS start,
                   uniqExact(request_id), count(), q[1] / 1000, q[2] / 1000, q[3] / 1000, avgIf(confidence_score, isFinite(confidence_score))
              FROM inference_metrics WHERE {Where}
             GROUP BY model_version, route, start ORDER BY model_version, route, start
            """, parameters, null, cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var key = (reader.GetString(0), reader.GetString(1));
                var predictions = Convert.ToInt64(reader.GetValue(4), CultureInfo.InvariantCulture);
                (buckets.TryGetValue(key, out var list) ? list : buckets[key] = []).Add(new ServingBucket(
                    new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(2), DateTimeKind.Utc)),
                        Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture),
                    predictions, predictions / (double)bucketSeconds, Number(reader.GetValue(5)), Number(reader.GetValue(6)),
                        Number(reader.GetValue(7)),
                    Finite(reader.GetValue(8))));
            }
        }

        var versions = new List<VersionServing>();
        await using (var reader = await connections.Client.ExecuteReaderAsync($"""
            WITH quantiles(0.5, 0.95, 0.99)(inference_time_us) AS q
            SELECT model_version, route, uniqExact(request_id), count(), uniqExactIf(request_id, cached = 1), q[1] / 1000, q[2] / 1000, q[3] / 1000,
                   avgIf(confidence_score, isFinite(confidence_score))
              FROM inference_metrics WHERE {Where}
             GROUP BY model_version, route ORDER BY model_version, route
            """, parameters, null, cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var key = (reader.GetString(0), reader.GetString(1));
                versions.Add(new VersionServing(key.Item1, key.Item2, Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture),
                    Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture),
                        Convert.ToInt64(reader.GetValue(4), CultureInfo.InvariantCulture),
                    Number(reader.GetValue(5)), Number(reader.GetValue(6)), Number(reader.GetValue(7)), Finite(reader.GetValue(8)),
                    bins.GetValueOrDefault(key) ?? new long[10], buckets.GetValueOrDefault(key) ?? []));
            }
        }

        return versions;
    }

    private static double Number(object value) => Convert.ToDouble(value, CultureInfo.InvariantCulture);

    private static double? Finite(object value) => value is DBNull ? null : Number(value) is var number && double.IsFinite(number) ? number : null;
}
