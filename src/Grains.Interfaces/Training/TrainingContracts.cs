namespace PhantomMl.Grains.Training;

/// <summary>A training job to create. Config, hyperparameters and resource requirements are JSON objects (as text).</summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.CreateTrainingJob")]
public sealed record CreateTrainingJob(
    [property: Id(0)] string JobName,
    [property: Id(1)] string ModelName,
    [property: Id(2)] string DatasetUri,
    [property: Id(3)] string? Config = null,
    [property: Id(4)] string? Hyperparameters = null,
    [property: Id(5)] string? ResourceRequirements = null,
    [property: Id(6)] int Priority = 0);

/// <summary>A training job as stored.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.TrainingJobView")]
public sealed record TrainingJobView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string JobName,
    [property: Id(2)] string? ModelName,
    [property: Id(3)] Guid ModelId,
    [property: Id(4)] string Status,
    [property: Id(5)] string DatasetUri,
    [property: Id(6)] string Config,
    [property: Id(7)] string? Hyperparameters,
    [property: Id(8)] string? ResourceRequirements,
    [property: Id(9)] int Priority,
    [property: Id(10)] double Progress,
    [property: Id(11)] int Attempt,
    [property: Id(12)] DateTimeOffset CreatedAt,
    [property: Id(13)] DateTimeOffset? ScheduledAt,
    [property: Id(14)] DateTimeOffset? StartedAt,
    [property: Id(15)] DateTimeOffset? CompletedAt,
    [property: Id(16)] string? ErrorMessage,
    [property: Id(17)] string? MetricsSummary,
    [property: Id(18)] string CreatedBy,
    [property: Id(19)] DateTimeOffset UpdatedAt,
    [property: Id(20)] string? Runner);

/// <summary>
/// Metric points of one job in columns (compact on the wire for batches of many thousands): point i is
/// <c>Names[NameIndex[i]]</c> = <c>Values[i]</c> at <c>Steps[i]</c>, measured at <c>TimestampsMs[i]</c> (Unix ms).
/// <see cref="BatchId"/> makes a retried batch land once.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.MetricBatch")]
public sealed record MetricBatch(
    [property: Id(0)] string BatchId,
    [property: Id(1)] string[] Names,
    [property: Id(2)] int[] NameIndex,
    [property: Id(3)] long[] Steps,
    [property: Id(4)] double[] Values,
    [property: Id(5)] long[] TimestampsMs,
    [property: Id(6)] bool AllowNonFinite = false);

/// <summary>One bucket of a downsampled series: its step range, and the min, max and mean of its points.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.MetricBucket")]
public sealed record MetricBucket(
    [property: Id(0)] long FirstStep,
    [property: Id(1)] long LastStep,
    [property: Id(2)] double Min,
    [property: Id(3)] double Max,
    [property: Id(4)] double Avg,
    [property: Id(5)] long Count);

/// <summary>A metric's history for one job, at most the requested number of buckets.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.MetricHistory")]
public sealed record MetricHistory(
    [property: Id(0)] Guid JobId,
    [property: Id(1)] string Metric,
    [property: Id(2)] long TotalPoints,
    [property: Id(3)] IReadOnlyList<MetricBucket> Buckets);

/// <summary>One time bucket of a metric: its start, and the min, max, mean and number of its points.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.TimeBucket")]
public sealed record TimeBucket(
    [property: Id(0)] DateTimeOffset Start,
    [property: Id(1)] double Min,
    [property: Id(2)] double Max,
    [property: Id(3)] double Avg,
    [property: Id(4)] long Count);

/// <summary>
/// A metric over time in buckets of <see cref="BucketSeconds"/>; <see cref="Source"/> is <c>hourly-rollup</c> when the
/// buckets were read from the hourly rollup (then <see cref="From"/> is the start of its hour), <c>points</c> otherwise.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.MetricTimeline")]
public sealed record MetricTimeline(
    [property: Id(0)] Guid JobId,
    [property: Id(1)] string Metric,
    [property: Id(2)] DateTimeOffset From,
    [property: Id(3)] DateTimeOffset To,
    [property: Id(4)] int BucketSeconds,
    [property: Id(5)] string Source,
    [property: Id(6)] long TotalPoints,
    [property: Id(7)] IReadOnlyList<TimeBucket> Buckets);

/// <summary>The last point of a metric of a job.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.LatestMetric")]
public sealed record LatestMetric(
    [property: Id(0)] string Metric,
    [property: Id(1)] long Step,
    [property: Id(2)] double Value,
    [property: Id(3)] DateTimeOffset Timestamp);

/// <summary>One trial of a job's hyperparameter search: its parameters, final metrics and how it ended (completed, pruned, failed).</summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.ExperimentView")]
public sealed record ExperimentView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string Parameters,
    [property: Id(3)] string? Metrics,
    [property: Id(4)] string Status,
    [property: Id(5)] DateTimeOffset StartedAt,
    [property: Id(6)] DateTimeOffset? CompletedAt);
