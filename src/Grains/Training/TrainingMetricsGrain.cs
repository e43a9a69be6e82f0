using Orleans.Concurrency;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Training;

/// <summary>
/// See <see cref="ITrainingMetricsGrain"/>. A batch is checked whole before anything is written (one bad point
/// rejects the batch with 400 and stores nothing). A large batch is one ClickHouse INSERT whose deduplication
/// token is tenant + job + batch id; a small one joins others in the silo's <see cref="MetricsBuffer"/>. Either way
/// the call returns once the points are stored, and a retry after a lost answer does not store them twice.
/// </summary>
[StatelessWorker]
[Reentrant] // a call waiting for its flush must not hold up the calls behind it; the grain keeps no state
public sealed class TrainingMetricsGrain(TenantDatabase database, AccessGuard guard, TrainingMetricsTable metrics, MetricsBuffer buffer,
    TenantLimits limits, TimeProvider time, TrainingSql trainingSql) : Grain, ITrainingMetricsGrain
{
    /// <summary>Longest metric name.</summary>
    public const int MaxNameLength = 250;

    /// <summary>Most distinct metric names in one batch.</summary>
    public const int MaxNamesPerBatch = 1_000;

    /// <summary>Most buckets one history query returns.</summary>
    public const int MaxBuckets = 10_000;

    /// <summary>Most points one page of a metric's points holds (MLflow's clients ask for 25,000 at a time).</summary>
    public const int MaxPointsPerPage = 100_000;

    // Jobs known to exist in a tenant, per silo, for a minute: a job id never changes tenant and jobs are not
    // deleted, so only the positive answer is kept; the caller is still authenticated on every call.
    private static readonly ExpiringMemo<(string TenantKey, Guid JobId), Guid> KnownJobs = new(capacity: 100_000);

    /// <inheritdoc />
    public async Task<int> LogAsync(string tenantKey, Guid jobId, MetricBatch batch)
    {
        var tenantId = await AuthorizeJobAsync(tenantKey, jobId, Permissions.TrainingRun, "log-metrics");
        var tenantLimits = await limits.GetAsync(tenantId);
        Validate(batch ?? throw PhantomException.Invalid("Send the points.", "points"), time.GetUtcNow(),
            (int)Math.Min(ITrainingMetricsGrain.MaxBatchPoints,
            tenantLimits[Quotas.MetricPointsPerRequest]), TimeSpan.FromDays(tenantLimits[Quotas.MetricBatchSpanDays]));
        if (buffer.Takes(batch))
        {
            await buffer.WriteAsync(tenantId, jobId, batch);
        }
        else
        {
            await metrics.InsertAsync(tenantId, jobId, batch, $"{tenantId:N}:{jobId:N}:{batch.BatchId}");
        }

        return batch.Values.Length;
    }

    /// <inheritdoc />
    public async Task<MetricHistory> HistoryAsync(string tenantKey, Guid jobId, string metric, int maxPoints)
    {
        var tenantId = await AuthorizeJobAsync(tenantKey, jobId, Permissions.TrainingRead, "read");
        CheckQuery(metric, maxPoints);
        return await metrics.HistoryAsync(tenantId, jobId, metric, maxPoints);
    }

    /// <inheritdoc />
    public async Task<MetricHistory> HistoryRangeAsync(string tenantKey, Guid jobId, string metric, int maxPoints, long? fromStep, long? toStep)
    {
        var tenantId = await AuthorizeJobAsync(tenantKey, jobId, Permissions.TrainingRead, "read");
        CheckQuery(metric, maxPoints);
        if (fromStep < 0 || toStep < 0 || fromStep > toStep)
        {
            throw PhantomException.Invalid("fromStep and toStep are steps (0 or more), fromStep not after toStep.", "fromStep");
        }

        return await metrics.HistoryAsync(tenantId, jobId, metric, maxPoints, fromStep, toStep);
    }

    /// <inheritdoc />
    public async Task<MetricTimeline> TimelineAsync(string tenantKey, Guid jobId, string metric, DateTimeOffset? from, DateTimeOffset? to,
        int maxPoints)
    {
        var tenantId = await AuthorizeJobAsync(tenantKey, jobId, Permissions.TrainingRead, "read");
        CheckQuery(metric, maxPoints);
        var end = PlausibleTime.Check(to, "to") ?? time.GetUtcNow();
        var start = PlausibleTime.Check(from, "from") ?? end.AddDays(-30);
        if (start >= end || end - start > TrainingMetricsTable.Retention)
        {
            throw PhantomException.Invalid("from must be before to, within the metrics' retention.", "from");
        }

        return await metrics.TimelineAsync(tenantId, jobId, metric, start, end, maxPoints);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<MetricHistory>> CompareAsync(string tenantKey, Guid[] jobIds, string metric, int maxPoints)
    {
        if (jobIds is null || jobIds.Length is 0 or > 20)
        {
            throw PhantomException.Invalid("Compare 1 to 20 jobs.", "jobIds");
        }

        CheckQuery(metric, maxPoints);
        var histories = new List<MetricHistory>();
        foreach (var jobId in jobIds.Distinct())
        {
            var tenantId = await AuthorizeJobAsync(tenantKey, jobId, Permissions.TrainingRead, "read");
            histories.Add(await metrics.HistoryAsync(tenantId, jobId, metric, maxPoints));
        }

        return histories;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> NamesAsync(string tenantKey, Guid jobId)
    {
        var tenantId = await AuthorizeJobAsync(tenantKey, jobId, Permissions.TrainingRead, "read");
        return await metrics.NamesAsync(tenantId, jobId);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<LatestMetric>> LatestAsync(string tenantKey, Guid jobId)
    {
        var tenantId = await AuthorizeJobAsync(tenantKey, jobId, Permissions.TrainingRead, "read");
        return await metrics.LatestAsync(tenantId, jobId);
    }

    /// <inheritdoc />
    public async Task<LoggedPointPage> PointsAsync(string tenantKey, Guid jobId, string metric, long offset, int limit)
    {
        var tenantId = await AuthorizeJobAsync(tenantKey, jobId, Permissions.TrainingRead, "read");
        CheckName(metric);
        if (offset < 0 || limit is < 1 or > MaxPointsPerPage)
        {
            throw PhantomException.Invalid($"A page starts at an offset of 0 or more and holds 1 to {MaxPointsPerPage} points.", "max_results");
        }

        return await metrics.PointsAsync(tenantId, jobId, metric, offset, limit);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<LoggedPoint>> SampledPointsAsync(string tenantKey, Guid jobId, string metric, long? fromStep, long? toStep,
        int maxPoints)
    {
        var tenantId = await AuthorizeJobAsync(tenantKey, jobId, Permissions.TrainingRead, "read");
        CheckQuery(metric, maxPoints);
        if (fromStep < 0 || toStep < 0 || fromStep > toStep)
        {
            throw PhantomException.Invalid("start_step and end_step are steps (0 or more), the start not after the end.", "start_step");
        }

        return await metrics.SampledAsync(tenantId, jobId, metric, fromStep ?? 0, toStep ?? uint.MaxValue, maxPoints);
    }

    /// <summary>
    /// Checks a batch whole; throws 400 naming the first problem (413 past the tenant's points per request). Timestamps lie
    /// within the metrics' retention (<see cref="TrainingMetricsTable.Retention"/>: older points would be dropped by the
    /// table's TTL right after being acknowledged) and at most a day ahead, and one batch spans at most
    /// <paramref name="maxSpan"/>, so no INSERT, however many tenants' batches it gathers, touches more monthly
    /// partitions than ClickHouse accepts in one.
    /// </summary>
    public static void Validate(MetricBatch batch, DateTimeOffset now, int maxPoints = ITrainingMetricsGrain.MaxBatchPoints, TimeSpan? maxSpan = null)
    {
        if (string.IsNullOrEmpty(batch.BatchId) || batch.BatchId.Length > 128 || batch.BatchId.Any(char.IsControl))
        {
            throw PhantomException.Invalid("batchId is 1 to 128 characters, without control characters.", "batchId");
        }

        if (batch.Values is null || batch.NameIndex is null || batch.Steps is null || batch.TimestampsMs is null || batch.Names is null)
        {
            throw PhantomException.Invalid("Every point needs a name, a step, a value and a timestamp.", "points");
        }

        var count = batch.Values.Length;
        if (count == 0)
        {
            throw PhantomException.Invalid($"A batch holds 1 to {maxPoints} points.", "points");
        }

        if (count > maxPoints)
        {
            throw PhantomException.TooLarge($"A batch of this tenant holds at most {maxPoints} points ({Quotas.MetricPointsPerRequest}); send " +
                $"more batches.", "points");
        }

        if (batch.NameIndex.Length != count || batch.Steps.Length != count || batch.TimestampsMs.Length != count)
        {
            throw PhantomException.Invalid("Every point needs a name, a step, a value and a timestamp.", "points");
        }

        if (batch.Names.Length is 0 or > MaxNamesPerBatch)
        {
            throw PhantomException.Invalid($"A batch names 1 to {MaxNamesPerBatch} metrics.", "names");
        }

        foreach (var name in batch.Names)
        {
            CheckName(name);
        }

        var earliest = (now - TrainingMetricsTable.Retention + TimeSpan.FromDays(1)).ToUnixTimeMilliseconds();
        var latest = now.AddDays(1).ToUnixTimeMilliseconds();
        long oldest = long.MaxValue, newest = long.MinValue;
        for (var i = 0; i < count; i++)
        {
            if ((uint)batch.NameIndex[i] >= (uint)batch.Names.Length)
            {
                throw PhantomException.Invalid($"Point {i} names no metric of the batch.", $"points[{i}].name");
            }

            if (batch.Steps[i] is < 0 or > uint.MaxValue)
            {
                throw PhantomException.Invalid($"Point {i}: step {batch.Steps[i]} is outside 0..{uint.MaxValue}.", $"points[{i}].step");
            }

            if (!double.IsFinite(batch.Values[i]) && !batch.AllowNonFinite)
            {
                throw PhantomException.Invalid($"Point {i} ({batch.Names[batch.NameIndex[i]]}) is {batch.Values[i]}; send allowNonFinite to store " +
                    $"NaN or Infinity.", $"points[{i}].value");
            }

            if (batch.TimestampsMs[i] < earliest || batch.TimestampsMs[i] > latest)
            {
                throw PhantomException.Invalid(
                    $"Point {i}: its timestamp is older than the metrics are kept ({TrainingMetricsTable.Retention.TotalDays:N0} days, less a " +
                        $"day) or more than a day ahead.",
                    $"points[{i}].timestamp");
            }

            oldest = Math.Min(oldest, batch.TimestampsMs[i]);
            newest = Math.Max(newest, batch.TimestampsMs[i]);
        }

        var span = maxSpan ?? TimeSpan.FromDays(31);
        if (TimeSpan.FromMilliseconds(newest - oldest) > span)
        {
            throw PhantomException.Invalid($"The batch's points span more than {span.TotalDays:N0} days ({Quotas.MetricBatchSpanDays}); send them " +
                $"as separate batches.", "points");
        }
    }

    private static void CheckName(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > MaxNameLength
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or ':' or ' '))
        {
            throw PhantomException.Invalid($"A metric name is 1 to {MaxNameLength} letters, digits, spaces and _ - . / :.", "name");
        }
    }

    private static void CheckQuery(string metric, int maxPoints)
    {
        CheckName(metric);
        if (maxPoints is < 1 or > MaxBuckets)
        {
            throw PhantomException.Invalid($"maxPoints is 1 to {MaxBuckets}.", "maxPoints");
        }
    }

    /// <summary>The caller may act on the tenant, and the job is one of the tenant's (else 404, like another tenant's).</summary>
    private async Task<Guid> AuthorizeJobAsync(string tenantKey, Guid jobId, string permission, string action)
    {
        var audit = new AuditEvent(action == "read" ? "data_access" : "training", "training_job", jobId.ToString(), action);
        var tenantId = (await guard.AuthorizeAsync(tenantKey, permission, audit)).TenantId;
        var now = time.GetUtcNow();
        if (KnownJobs.TryGet((tenantKey, jobId), now, out var knownTenantId) && knownTenantId == tenantId)
        {
            return tenantId;
        }

        var exists = await database.InTenantAsync(tenantId, async (_, transaction) => await trainingSql.LoadAsync(transaction, jobId) is not null);
        if (!exists)
        {
            throw PhantomException.NotFound("training job", jobId.ToString());
        }

        KnownJobs.Set((tenantKey, jobId), tenantId, now.AddMinutes(1));
        return tenantId;
    }
}
