using PhantomMl.Grains.Training;

namespace PhantomMl.Client;

/// <summary>One metric point to log; the timestamp defaults to now.</summary>
public readonly record struct MetricPoint(string Name, double Value, long Step, DateTimeOffset? Timestamp = null);

/// <summary>Training jobs and their metrics: the same operations as /api/v1/tenants/{tenantKey}/training-jobs.</summary>
public sealed partial class PhantomClient
{
    /// <summary>Points per batch the SDK sends; a call with more points sends several batches.</summary>
    public const int MetricBatchPoints = 50_000;

    /// <summary>Creates a training job (pending until the tenant's scheduler has a slot for it).</summary>
    public Task<TrainingJobView> CreateTrainingJobAsync(string tenantKey, CreateTrainingJob command, CancellationToken cancellationToken = default)
    {
        var jobId = Guid.CreateVersion7();
        return CallAsync(grains => Job(grains, tenantKey, jobId).CreateAsync(command), cancellationToken);
    }

    /// <summary>Reads a job.</summary>
    public Task<TrainingJobView> GetTrainingJobAsync(string tenantKey, Guid jobId, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Job(grains, tenantKey, jobId).GetAsync(), cancellationToken);

    /// <summary>The trials of a job's hyperparameter search.</summary>
    public Task<IReadOnlyList<ExperimentView>> ListTrainingExperimentsAsync(string tenantKey, Guid jobId,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Job(grains, tenantKey, jobId).ListExperimentsAsync(), cancellationToken);

    /// <summary>The tenant's jobs, newest first.</summary>
    public Task<IReadOnlyList<TrainingJobView>> ListTrainingJobsAsync(string tenantKey, string? status = null, int limit = 100,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.TrainingScheduler(tenantKey).ListAsync(status, limit), cancellationToken);

    /// <summary>Reports a runner's status: running, completed (with a JSON metrics summary) or failed (with an error).</summary>
    public Task<TrainingJobView> ReportTrainingStatusAsync(string tenantKey, Guid jobId, string status, string? errorMessage = null,
        string? metricsSummary = null, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Job(grains, tenantKey, jobId).ReportStatusAsync(status, errorMessage, metricsSummary), cancellationToken);

    /// <summary>Logs parameters into the job's hyperparameters (a parameter keeps its first value).</summary>
    public Task<TrainingJobView> LogTrainingParamsAsync(string tenantKey, Guid jobId, IReadOnlyDictionary<string, string> parameters,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Job(grains, tenantKey, jobId).LogParamsAsync(parameters), cancellationToken);

    /// <summary>Reports a running job's progress (0 to 1).</summary>
    public Task<TrainingJobView> ReportTrainingProgressAsync(string tenantKey, Guid jobId, double progress,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Job(grains, tenantKey, jobId).ReportProgressAsync(progress), cancellationToken);

    /// <summary>Cancels a job.</summary>
    public Task<TrainingJobView> CancelTrainingJobAsync(string tenantKey, Guid jobId, string? reason = null,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Job(grains, tenantKey, jobId).CancelAsync(reason), cancellationToken);

    /// <summary>Queues a failed or cancelled job again.</summary>
    public Task<TrainingJobView> RetryTrainingJobAsync(string tenantKey, Guid jobId, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Job(grains, tenantKey, jobId).RetryAsync(), cancellationToken);

    /// <summary>Logs one point.</summary>
    public Task<long> LogMetricAsync(string tenantKey, Guid jobId, string name, double value, long step, DateTimeOffset? timestamp = null,
        CancellationToken cancellationToken = default) =>
        LogMetricsAsync(tenantKey, jobId, [new MetricPoint(name, value, step, timestamp)], cancellationToken: cancellationToken);

    /// <summary>
    /// Logs points in batches of <see cref="MetricBatchPoints"/>, <paramref name="parallelBatches"/> in flight at a
    /// time. Each batch has its own id, kept across the SDK's retries, so a batch whose answer was lost is stored once.
    /// Returns when every batch is stored in ClickHouse. NaN and Infinity are refused (400) unless <paramref name="allowNonFinite"/>.
    /// </summary>
    public async Task<long> LogMetricsAsync(string tenantKey, Guid jobId, IReadOnlyList<MetricPoint> points, bool allowNonFinite = false,
        int parallelBatches = 4, CancellationToken cancellationToken = default)
    {
        var batches = Enumerable.Range(0, (points.Count + MetricBatchPoints - 1) / MetricBatchPoints)
            .Select(b => Pack(points, b * MetricBatchPoints, Math.Min(MetricBatchPoints, points.Count - (b * MetricBatchPoints)), allowNonFinite));
        long stored = 0;
        await Parallel.ForEachAsync(batches,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelBatches), CancellationToken = cancellationToken },
            async (batch, token) => Interlocked.Add(ref stored,
                await CallAsync(grains => grains.TrainingMetrics().LogAsync(tenantKey, jobId, batch), token)));
        return stored;
    }

    /// <summary>A metric's history, downsampled on the server to at most <paramref name="maxPoints"/> buckets (min/max/avg each).</summary>
    public Task<MetricHistory> GetMetricHistoryAsync(string tenantKey, Guid jobId, string metric, int maxPoints = 1000,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.TrainingMetrics().HistoryAsync(tenantKey, jobId, metric, maxPoints), cancellationToken);

    /// <summary>The names of a job's metrics.</summary>
    public Task<IReadOnlyList<string>> GetMetricNamesAsync(string tenantKey, Guid jobId, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.TrainingMetrics().NamesAsync(tenantKey, jobId), cancellationToken);

    /// <summary>A metric's history between two steps (inclusive), downsampled to at most <paramref name="maxPoints"/> buckets: a zoomed chart.</summary>
    public Task<MetricHistory> GetMetricHistoryAsync(string tenantKey, Guid jobId, string metric, long? fromStep, long? toStep, int maxPoints = 1000,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.TrainingMetrics().HistoryRangeAsync(tenantKey, jobId, metric, maxPoints, fromStep, toStep), cancellationToken);

    /// <summary>A metric over wall-clock time in at most <paramref name="maxPoints"/> buckets; an hour or more per bucket reads the hourly rollup.</summary>
    public Task<MetricTimeline> GetMetricTimelineAsync(string tenantKey, Guid jobId, string metric, DateTimeOffset? from = null,
        DateTimeOffset? to = null, int maxPoints = 1000, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.TrainingMetrics().TimelineAsync(tenantKey, jobId, metric, from, to, maxPoints), cancellationToken);

    /// <summary>One metric of several jobs, each downsampled.</summary>
    public Task<IReadOnlyList<MetricHistory>> CompareMetricAsync(string tenantKey, IReadOnlyList<Guid> jobIds, string metric, int maxPoints = 1000,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.TrainingMetrics().CompareAsync(tenantKey, [.. jobIds], metric, maxPoints), cancellationToken);

    /// <summary>The latest point of every metric of a job.</summary>
    public Task<IReadOnlyList<LatestMetric>> GetLatestMetricsAsync(string tenantKey, Guid jobId, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.TrainingMetrics().LatestAsync(tenantKey, jobId), cancellationToken);

    private static MetricBatch Pack(IReadOnlyList<MetricPoint> points, int start, int count, bool allowNonFinite)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var batch = new MetricBatchBuilder(count);
        foreach (var point in points.Skip(start).Take(count))
        {
            batch.Add(point.Name, point.Value, point.Step, point.Timestamp?.ToUnixTimeMilliseconds() ?? now);
        }

        return batch.Build(Guid.CreateVersion7().ToString(), allowNonFinite);
    }

    private static ITrainingJobGrain Job(IGrainFactory grains, string tenantKey, Guid jobId) => grains.TrainingJob(tenantKey, jobId);
}
