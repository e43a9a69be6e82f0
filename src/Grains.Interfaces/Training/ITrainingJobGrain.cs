
using Orleans.Concurrency;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Training;

/// <summary>
/// One training job of one tenant (key: <c>tenantKey/jobId</c>). Its activation serialises the job's own
/// transitions; the tenant's scheduler moves pending jobs to scheduled. Legal moves:
/// pending → scheduled | cancelled; scheduled → running | cancelled; running → completed | failed | cancelled;
/// failed | cancelled → pending (retry). Anything else is 409. What runners and users change (status, parameters,
/// progress, cancel, retry) interleaves only to authorize and queue: the changes waiting together are applied in arrival
/// order in one transaction by <see cref="CommitChangesAsync"/> (group commit), each caller answered as if alone.
/// </summary>
[ClientCallable]
[Alias("phantomml.training.ITrainingJobGrain")]
public interface ITrainingJobGrain : IGrainWithStringKey
{
    /// <summary>Creates the job as pending and asks the tenant's scheduler to place it.</summary>
    [Alias("CreateAsync")] Task<TrainingJobView> CreateAsync(CreateTrainingJob command);

    /// <summary>Reads the job.</summary>
    [Alias("GetAsync")] Task<TrainingJobView> GetAsync();

    /// <summary>The trials of the job's hyperparameter search, in the order they ran.</summary>
    [Alias("ListExperimentsAsync")] Task<IReadOnlyList<ExperimentView>> ListExperimentsAsync();

    /// <summary>
    /// A runner reports progress: <c>running</c> (from scheduled), <c>completed</c> (with a metrics summary) or
    /// <c>failed</c> (with an error message).
    /// </summary>
    [AlwaysInterleave, Alias("ReportStatusAsync")] Task<TrainingJobView> ReportStatusAsync(string status, string? errorMessage, string? metricsSummary);

    /// <summary>
    /// Records parameters (as an external run learns them; MLflow's log_param) into the job's hyperparameters. A
    /// parameter keeps its first value: logging it again with another value is 409, with the same value a no-op.
    /// </summary>
    [AlwaysInterleave, Alias("LogParamsAsync")] Task<TrainingJobView> LogParamsAsync(IReadOnlyDictionary<string, string> parameters);

    /// <summary>A running job's progress in [0, 1]; also its heartbeat.</summary>
    [AlwaysInterleave, Alias("ReportProgressAsync")] Task<TrainingJobView> ReportProgressAsync(double progress);

    /// <summary>Cancels a job that has not finished.</summary>
    [AlwaysInterleave, Alias("CancelAsync")] Task<TrainingJobView> CancelAsync(string? reason);

    /// <summary>Puts a failed or cancelled job back in the queue as a new attempt.</summary>
    [AlwaysInterleave, Alias("RetryAsync")] Task<TrainingJobView> RetryAsync();

    /// <summary>
    /// Starts this job as a run of a project (MLflow's create-run): an external job, running from the start, whose
    /// status its client reports. Counted against the tenant's tracking_runs.
    /// </summary>
    [Alias("StartRunAsync")] Task<RunView> StartRunAsync(StartRun command);

    /// <summary>Reads the run: the job, its tags and inputs, and the latest point of each metric (404 when the job is not a run).</summary>
    [Alias("GetRunAsync")] Task<RunView> GetRunAsync();

    /// <summary>
    /// MLflow's update-run: a new status (running, completed, failed, cancelled; the job's state machine decides), with
    /// the client's end time for a final one, and/or a new name (also the <c>mlflow.runName</c> tag).
    /// </summary>
    [AlwaysInterleave, Alias("UpdateRunAsync")] Task<RunView> UpdateRunAsync(string? status, string? runName, DateTimeOffset? endTime);

    /// <summary>Sets tags (a tag's value is replaced) and deletes the tags named in <paramref name="delete"/> (404 for one not set).</summary>
    [AlwaysInterleave, Alias("TagRunAsync")] Task<RunView> TagRunAsync(IReadOnlyDictionary<string, string> set, IReadOnlyList<string> delete);

    /// <summary>Marks the run deleted, or restores it (MLflow's lifecycle_stage); its data is kept either way.</summary>
    [AlwaysInterleave, Alias("SetRunDeletedAsync")] Task<RunView> SetRunDeletedAsync(bool deleted);

    /// <summary>Adds dataset inputs (a JSON array of MLflow DatasetInput objects, as text); one already logged is kept once.</summary>
    [AlwaysInterleave, Alias("LogRunInputsAsync")] Task<RunView> LogRunInputsAsync(string inputs);

    /// <summary>The run's files under <paramref name="directory"/> (its root when empty), at most 10,000.</summary>
    [Alias("ListRunArtifactsAsync")] Task<IReadOnlyList<RunArtifactView>> ListRunArtifactsAsync(string directory);

    /// <summary>
    /// Leave to write a file of the run (the front end then streams the bytes to the ticket's object key): the path is checked,
    /// and the size against the tenant's model_file_bytes and artifact_bytes.
    /// </summary>
    [SiloOnly, Alias("PrepareRunArtifactAsync")] Task<RunArtifactTicket> PrepareRunArtifactAsync(string path, long sizeBytes);

    /// <summary>Records a file written under a ticket of this run, replacing an earlier file at its path; artifact_bytes is counted here.</summary>
    [SiloOnly, Alias("CompleteRunArtifactAsync")] Task<RunArtifactView> CompleteRunArtifactAsync(RunArtifactTicket ticket, long measuredBytes,
        string measuredSha256);

    /// <summary>Where a file of the run is stored, for the front end to stream it.</summary>
    [SiloOnly, Alias("LocateRunArtifactAsync")] Task<RunArtifactLocation> LocateRunArtifactAsync(string path);

    /// <summary>
    /// Commits the queued changes: the activation's call to itself, ordinary (not interleaving), so a batch never
    /// overlaps another call.
    /// </summary>
    [SiloOnly, Alias("CommitChangesAsync")] Task CommitChangesAsync();

    /// <summary>
    /// Starts a scheduled job that asks for the built-in trainer, in this activation's silo (the scheduler calls it;
    /// for other jobs, or when already started, it only answers the job).
    /// </summary>
    [SiloOnly, Alias("StartAsync")] Task<TrainingJobView> StartAsync();

    /// <summary>
    /// The watchdog found the job running without a heartbeat: unless this activation is running it, it fails the
    /// job ("runner lost") and queues it again while attempts remain.
    /// </summary>
    [SiloOnly, Alias("RecoverAsync")] Task<TrainingJobView> RecoverAsync(DateTimeOffset silentSince);
}

/// <summary>
/// The cluster-wide training watchdog: finds running jobs whose runner went silent (a silo or an external runner
/// died) and recovers them. One activation (key <see cref="ClusterKey"/>), woken by a reminder.
/// </summary>
[ClientCallable]
[Alias("phantomml.training.ITrainingWatchdogGrain")]
public interface ITrainingWatchdogGrain : IGrainWithStringKey
{
    /// <summary>The only key in use.</summary>
    const string ClusterKey = "cluster";

    /// <summary>Registers the reminder (idempotent).</summary>
    [SiloOnly, Alias("EnsureScheduledAsync")] Task EnsureScheduledAsync();

    /// <summary>Checks now; returns the ids of the jobs it recovered.</summary>
    [Alias("RunAsync")] Task<IReadOnlyList<Guid>> RunAsync();
}

/// <summary>
/// A tenant's training queue (key: tenant key): keeps at most the tenant's <c>concurrent_training_jobs</c> jobs
/// scheduled or running, choosing the next by priority, then age. The queue is the training_jobs table, so any
/// activation on any silo sees the same one.
/// </summary>
[ClientCallable]
[Alias("phantomml.training.ITrainingSchedulerGrain")]
public interface ITrainingSchedulerGrain : IGrainWithStringKey
{
    /// <summary>Schedules as many pending jobs as free slots allow; returns the ids it scheduled.</summary>
    [SiloOnly, Alias("PumpAsync")] Task<IReadOnlyList<Guid>> PumpAsync();

    /// <summary>The tenant's jobs, newest first, optionally of one status.</summary>
    [Alias("ListAsync")] Task<IReadOnlyList<TrainingJobView>> ListAsync(string? status, int limit);
}

/// <summary>
/// Takes metric points into ClickHouse and answers history queries. A stateless worker: every silo ingests.
/// </summary>
[ClientCallable]
[Alias("phantomml.training.ITrainingMetricsGrain")]
public interface ITrainingMetricsGrain : IGrainWithIntegerKey
{
    /// <summary>Most points one batch may carry.</summary>
    const int MaxBatchPoints = 100_000;

    /// <summary>
    /// Stores a batch of points of a job; returns once ClickHouse has them (an acknowledged batch is durable). A
    /// retried batch (same <see cref="MetricBatch.BatchId"/>) is stored once.
    /// </summary>
    [Alias("LogAsync")] Task<int> LogAsync(string tenantKey, Guid jobId, MetricBatch batch);

    /// <summary>A metric's history, downsampled on the server to at most <paramref name="maxPoints"/> buckets (min/max/avg each).</summary>
    [Alias("HistoryAsync")] Task<MetricHistory> HistoryAsync(string tenantKey, Guid jobId, string metric, int maxPoints);

    /// <summary>
    /// A metric's history between two steps (inclusive; null: from the first, to the last), downsampled to at most
    /// <paramref name="maxPoints"/> buckets: what a chart asks again for when zoomed in.
    /// </summary>
    [Alias("HistoryRangeAsync")] Task<MetricHistory> HistoryRangeAsync(string tenantKey, Guid jobId, string metric, int maxPoints, long? fromStep,
        long? toStep);

    /// <summary>
    /// A metric over wall-clock time in at most <paramref name="maxPoints"/> time buckets. Buckets of an hour or more are read
    /// from the hourly rollup (training_metrics_hourly), shorter ones from the points; <see cref="MetricTimeline.Source"/> says which.
    /// </summary>
    [Alias("TimelineAsync")] Task<MetricTimeline> TimelineAsync(string tenantKey, Guid jobId, string metric, DateTimeOffset? from, DateTimeOffset? to,
        int maxPoints);

    /// <summary>Several jobs' histories of one metric, for comparison.</summary>
    [Alias("CompareAsync")] Task<IReadOnlyList<MetricHistory>> CompareAsync(string tenantKey, Guid[] jobIds, string metric, int maxPoints);

    /// <summary>
    /// The names of a job's metrics, in order, read from the hourly rollup (a few rows per hour, however many points):
    /// what a chart needs first, long before the latest value of each metric.
    /// </summary>
    [Alias("NamesAsync")] Task<IReadOnlyList<string>> NamesAsync(string tenantKey, Guid jobId);

    /// <summary>The latest point of every metric of a job.</summary>
    [Alias("LatestAsync")] Task<IReadOnlyList<LatestMetric>> LatestAsync(string tenantKey, Guid jobId);

    /// <summary>
    /// A metric's points as logged, in (step, timestamp) order, from <paramref name="offset"/>, at most <paramref name="limit"/>
    /// (MLflow's get-history).
    /// </summary>
    [Alias("PointsAsync")] Task<LoggedPointPage> PointsAsync(string tenantKey, Guid jobId, string metric, long offset, int limit);

    /// <summary>
    /// At most <paramref name="maxPoints"/> of a metric's points between two steps, evenly spread over its steps, the
    /// first and last included (MLflow's get-history-bulk-interval, per run).
    /// </summary>
    [Alias("SampledPointsAsync")] Task<IReadOnlyList<LoggedPoint>> SampledPointsAsync(string tenantKey, Guid jobId, string metric, long? fromStep,
        long? toStep, int maxPoints);
}
