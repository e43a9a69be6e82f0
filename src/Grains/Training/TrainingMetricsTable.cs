using System.Globalization;
using ClickHouse.Driver;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using PhantomMl.Grains.Adapters.ClickHouse;

namespace PhantomMl.Grains.Training;

/// <summary>
/// training_metrics in ClickHouse: inserts in RowBinary with a deduplication token (a retried batch lands once),
/// and the history queries, downsampled on the server. A step is stored in the <c>batch</c> column (UInt32).
/// </summary>
public sealed class TrainingMetricsTable(ClickHouseConnections connections)
{
    /// <summary>The columns every insert writes, in order.</summary>
    public static readonly string[] Columns = ["timestamp", "tenant_id", "training_job_id", "epoch", "batch", "metric_name", "metric_value",
        "metadata"];

    /// <summary>Their ClickHouse types, given with each insert so the driver need not ask the server for the schema.</summary>
    public static readonly IReadOnlyDictionary<string, string> ColumnTypes = new Dictionary<string, string>
    {
        ["timestamp"] = "DateTime64(3)",
        ["tenant_id"] = "String",
        ["training_job_id"] = "String",
        ["epoch"] = "UInt32",
        ["batch"] = "UInt32",
        ["metric_name"] = "String",
        ["metric_value"] = "Float64",
        ["metadata"] = "Map(String, String)",
    };

    /// <summary>How long points are kept: the table's TTL is 2 years, of which this is the shorter reading (730 days).</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(730);

    private static readonly Dictionary<string, string> NoMetadata = [];

    /// <summary>Inserts a validated batch as one INSERT; <paramref name="deduplicationToken"/> identifies it across retries.</summary>
    public Task<long> InsertAsync(Guid tenantId, Guid jobId, MetricBatch batch, string deduplicationToken,
        CancellationToken cancellationToken = default) =>
        InsertAsync([(tenantId, jobId, batch)], deduplicationToken, cancellationToken);

    /// <summary>Inserts several jobs' batches as one INSERT (one block, one token).</summary>
    public async Task<long> InsertAsync(IReadOnlyList<(Guid TenantId, Guid JobId, MetricBatch Batch)> batches, string deduplicationToken,
        CancellationToken cancellationToken = default)
    {
        var rows = batches.SelectMany(entry =>
        {
            var (tenant, job, batch) = (entry.TenantId.ToString(), entry.JobId.ToString(), entry.Batch);
            return Enumerable.Range(0, batch.Values.Length).Select(i => new object[]
            {
                DateTimeOffset.FromUnixTimeMilliseconds(batch.TimestampsMs[i]).UtcDateTime, tenant, job, 0u, (uint)batch.Steps[i],
                batch.Names[batch.NameIndex[i]], batch.Values[i], NoMetadata,
            });
        });
        var options = new InsertOptions
        {
            // One INSERT, one block: the token then covers the whole of it.
            BatchSize = Math.Max(1, batches.Sum(entry => entry.Batch.Values.Length)),
            MaxDegreeOfParallelism = 1,
            ColumnTypes = ColumnTypes,
            CustomSettings = new Dictionary<string, object> { ["insert_deduplication_token"] = deduplicationToken },
        };
        return await connections.Client.InsertBinaryAsync("training_metrics", Columns, rows, options, cancellationToken);
    }

    /// <summary>One job's metric, in at most <paramref name="maxBuckets"/> step buckets with min, max and mean each.</summary>
    public async Task<MetricHistory> HistoryAsync(Guid tenantId, Guid jobId, string metric, int maxBuckets, long? fromStep = null, long? toStep = null,
        CancellationToken cancellationToken = default)
    {
        var parameters = StepRangeParameters(tenantId, jobId, metric, fromStep ?? 0, toStep ?? uint.MaxValue, maxBuckets);
        // One query over the metric's rows, read through the by-step projection (ClickHouse migration 0007): its first and
        // last step (the first and last granule, in key order) fix the bucket width; points keep arriving meanwhile, so
        // the buckets read only the steps between those two, and the buckets and their total describe the same rows.
        var buckets = new List<MetricBucket>(maxBuckets);
        await using var reader = await connections.Client.ExecuteReaderAsync($$"""
            {{StepBuckets}}
            SELECT intDiv(batch - first_step, width) AS bucket, min(batch), max(batch), min(metric_value), max(metric_value),
                avg(metric_value), count()
            {{MetricSteps}} AND batch BETWEEN first_step AND last_step
            GROUP BY bucket ORDER BY bucket
            """, parameters, null, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            buckets.Add(new MetricBucket(Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture),
                reader.GetDouble(3), reader.GetDouble(4), reader.GetDouble(5), Convert.ToInt64(reader.GetValue(6), CultureInfo.InvariantCulture)));
        }

        return new MetricHistory(jobId, metric, buckets.Sum(bucket => bucket.Count), buckets);
    }

    /// <summary>
    /// A metric over [from, to) in at most <paramref name="maxBuckets"/> time buckets. Buckets of an hour or more come from
    /// the hourly rollup, whole hours each (so the window starts at its first hour): a long range then reads one row per
    /// hour instead of every point. Shorter buckets are computed from the points.
    /// </summary>
    public async Task<MetricTimeline> TimelineAsync(Guid tenantId, Guid jobId, string metric, DateTimeOffset from, DateTimeOffset to, int maxBuckets,
        CancellationToken cancellationToken = default)
    {
        var width = (long)Math.Max(1, Math.Ceiling((to - from).TotalSeconds / maxBuckets));
        var hourly = width >= 3600;
        if (hourly)
        {
            width = (width + 3599) / 3600 * 3600;
            from = new DateTimeOffset(from.UtcDateTime.Ticks / TimeSpan.TicksPerHour * TimeSpan.TicksPerHour, TimeSpan.Zero);
        }

        var parameters = Parameters(tenantId, jobId);
        parameters.AddParameter("metric", metric);
        parameters.AddParameter("from", from.UtcDateTime);
        parameters.AddParameter("to", to.UtcDateTime);
        parameters.AddParameter("width", (uint)width);
        var sql = hourly
            ? """
              SELECT intDiv(dateDiff('second', {from:DateTime64(3)}, hour), {width:UInt32}) AS slot, min(min_value), max(max_value),
                     avgMerge(avg_value), sum(sample_count)
                FROM training_metrics_hourly
               WHERE tenant_id = {tenant:String} AND training_job_id = {job:String} AND metric_name = {metric:String}
                 AND hour >= {from:DateTime64(3)} AND hour < {to:DateTime64(3)}
               GROUP BY slot ORDER BY slot
              """
            : """
              SELECT intDiv(dateDiff('second', {from:DateTime64(3)}, timestamp), {width:UInt32}) AS slot, min(metric_value), max(metric_value),
                     avg(metric_value), count()
                FROM training_metrics
               WHERE tenant_id = {tenant:String} AND training_job_id = {job:String} AND metric_name = {metric:String}
                 AND timestamp >= {from:DateTime64(3)} AND timestamp < {to:DateTime64(3)}
               GROUP BY slot ORDER BY slot
              """;
        var buckets = new List<TimeBucket>();
        await using var reader = await connections.Client.ExecuteReaderAsync(sql, parameters, null, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // Buckets are counted from the window's start, not from the epoch, so a window has the number of buckets asked for.
            var slot = Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture);
            buckets.Add(new TimeBucket(from.AddSeconds(slot * width), reader.GetDouble(1),
                reader.GetDouble(2), reader.GetDouble(3), Convert.ToInt64(reader.GetValue(4), CultureInfo.InvariantCulture)));
        }

        return new MetricTimeline(jobId, metric, from, to, (int)width, hourly ? "hourly-rollup" : "points", buckets.Sum(bucket => bucket.Count), buckets);
    }

    /// <summary>The names of a job's metrics, from the hourly rollup (every point inserted is in it: the materialized view runs on insert).</summary>
    public async Task<IReadOnlyList<string>> NamesAsync(Guid tenantId, Guid jobId, CancellationToken cancellationToken = default)
    {
        var names = new List<string>();
        await using var reader = await connections.Client.ExecuteReaderAsync("""
            SELECT DISTINCT metric_name FROM training_metrics_hourly
             WHERE tenant_id = {tenant:String} AND training_job_id = {job:String} ORDER BY metric_name LIMIT 10000
            """, Parameters(tenantId, jobId), null, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    /// <summary>The point with the highest step of every metric of a job.</summary>
    public async Task<IReadOnlyList<LatestMetric>> LatestAsync(Guid tenantId, Guid jobId, CancellationToken cancellationToken = default) =>
        (await LatestOfJobsAsync(tenantId, [jobId], cancellationToken))[jobId];

    /// <summary>One metric's points as logged, in (step, timestamp, value) order, a page from <paramref name="offset"/>.</summary>
    public async Task<LoggedPointPage> PointsAsync(Guid tenantId, Guid jobId, string metric, long offset, int limit,
        CancellationToken cancellationToken = default)
    {
        var parameters = Parameters(tenantId, jobId);
        parameters.AddParameter("metric", metric);
        parameters.AddParameter("offset", (ulong)offset);
        // One more than asked: whether another page follows, without counting.
        parameters.AddParameter("limit", (ulong)limit + 1);
        var steps = new List<long>(Math.Min(limit + 1, 100_001));
        var values = new List<double>(steps.Capacity);
        var timestamps = new List<long>(steps.Capacity);
        await using var reader = await connections.Client.ExecuteReaderAsync("""
            SELECT toInt64(batch), metric_value, toUnixTimestamp64Milli(timestamp)
              FROM training_metrics
             WHERE tenant_id = {tenant:String} AND training_job_id = {job:String} AND metric_name = {metric:String}
             ORDER BY batch, timestamp, metric_value
             LIMIT {limit:UInt64} OFFSET {offset:UInt64}
            """, parameters, null, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            steps.Add(reader.GetInt64(0));
            values.Add(reader.GetDouble(1));
            timestamps.Add(reader.GetInt64(2));
        }

        var more = steps.Count > limit;
        if (more)
        {
            steps.RemoveAt(limit);
            values.RemoveAt(limit);
            timestamps.RemoveAt(limit);
        }

        return new LoggedPointPage([.. steps], [.. values], [.. timestamps], more ? offset + limit : null);
    }

    /// <summary>
    /// At most <paramref name="maxPoints"/> points of a metric between two steps: the step range cut into that many buckets of
    /// steps, the first point of each, and the last point of the range.
    /// </summary>
    public async Task<IReadOnlyList<LoggedPoint>> SampledAsync(Guid tenantId, Guid jobId, string metric, long fromStep, long toStep, int maxPoints,
        CancellationToken cancellationToken = default)
    {
        var parameters = StepRangeParameters(tenantId, jobId, metric, fromStep, toStep, Math.Max(1, maxPoints - 1));
        var points = new List<LoggedPoint>(maxPoints);
        await using var reader = await connections.Client.ExecuteReaderAsync($$"""
            {{StepBuckets}}
            SELECT * FROM (
                SELECT min(batch) AS step, argMin(metric_value, (batch, timestamp)), toUnixTimestamp64Milli(argMin(timestamp, (batch, timestamp)))
                {{MetricSteps}} AND batch BETWEEN first_step AND last_step
                GROUP BY intDiv(batch - first_step, width)
                UNION ALL
                SELECT max(batch), argMax(metric_value, (batch, timestamp)), toUnixTimestamp64Milli(argMax(timestamp, (batch, timestamp)))
                {{MetricSteps}} HAVING count() > 0
            ) ORDER BY step LIMIT {{maxPoints + 1}}
            """, parameters, null, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var point = new LoggedPoint(Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture), reader.GetDouble(1),
                Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture));
            // The last step may also start a bucket: kept once.
            if (points.Count == 0 || points[^1].Step != point.Step)
            {
                points.Add(point);
            }
        }

        return points.Count > maxPoints ? [.. points[..(maxPoints - 1)], points[^1]] : points;
    }

    /// <summary>The point with the highest step of every metric of several jobs of a tenant, by job.</summary>
    public async Task<Dictionary<Guid, List<LatestMetric>>> LatestOfJobsAsync(Guid tenantId, IReadOnlyCollection<Guid> jobIds,
        CancellationToken cancellationToken = default)
    {
        var latest = jobIds.ToDictionary(id => id, _ => new List<LatestMetric>());
        if (jobIds.Count == 0)
        {
            return latest;
        }

        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("tenant", tenantId.ToString());
        parameters.AddParameter("jobs", jobIds.Select(id => id.ToString()).ToArray());
        await using var reader = await connections.Client.ExecuteReaderAsync("""
            SELECT training_job_id, metric_name, max(batch), argMax(metric_value, (batch, timestamp)), argMax(timestamp, (batch, timestamp))
              FROM training_metrics
             WHERE tenant_id = {tenant:String} AND training_job_id IN {jobs:Array(String)}
             GROUP BY training_job_id, metric_name ORDER BY training_job_id, metric_name
            """, parameters, null, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            latest[Guid.Parse(reader.GetString(0))].Add(new LatestMetric(reader.GetString(1),
                Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture), reader.GetDouble(3),
                new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(4), DateTimeKind.Utc))));
        }

        return latest;
    }

    /// <summary>One metric's rows between two steps (<see cref="StepRangeParameters"/> binds them).</summary>
    private const string MetricSteps = """
        FROM training_metrics
        WHERE tenant_id = {tenant:String} AND training_job_id = {job:String} AND metric_name = {metric:String}
          AND batch BETWEEN {from_step:UInt64} AND {to_step:UInt64}
        """;

    /// <summary>
    /// The first and last step of those rows (the first and last granule of the by-step projection, in key order) and the
    /// width of {buckets} equal step buckets between them: what the downsampled history and the sampled points share.
    /// </summary>
    private const string StepBuckets = $$"""
        WITH (SELECT batch {{MetricSteps}} ORDER BY batch LIMIT 1) AS first_step,
             (SELECT batch {{MetricSteps}} ORDER BY batch DESC LIMIT 1) AS last_step,
             greatest(1, intDiv(last_step - first_step + {buckets:UInt64}, {buckets:UInt64})) AS width
        """;

    private static ClickHouseParameterCollection StepRangeParameters(Guid tenantId, Guid jobId, string metric, long fromStep, long toStep, int buckets)
    {
        var parameters = Parameters(tenantId, jobId);
        parameters.AddParameter("metric", metric);
        parameters.AddParameter("from_step", (ulong)Math.Min(fromStep, uint.MaxValue));
        parameters.AddParameter("to_step", (ulong)Math.Min(toStep, uint.MaxValue));
        parameters.AddParameter("buckets", (ulong)buckets);
        return parameters;
    }

    private static ClickHouseParameterCollection Parameters(Guid tenantId, Guid jobId)
    {
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("tenant", tenantId.ToString());
        parameters.AddParameter("job", jobId.ToString());
        return parameters;
    }
}
