using PhantomMl.Grains.Models;

using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// Rows to score: each maps the model's input names (its feature columns) to numbers. Every row must name exactly
/// the model's inputs.
/// </summary>
/// <remarks><see cref="BypassCache"/> scores them afresh instead of answering from the result cache.</remarks>
[GenerateSerializer, Immutable, Alias("phantomml.inference.PredictRequest")]
public sealed record PredictRequest([property: Id(0)] IReadOnlyList<IReadOnlyDictionary<string, double>> Rows,
    [property: Id(1)] bool BypassCache = false);

/// <summary>
/// One row's answer: the prediction (the class as 0/1 for a binary classifier, the value for a regressor), the
/// confidence (the probability of the predicted class) where the model has one, and every numeric output by name.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.inference.RowPrediction")]
public sealed record RowPrediction(
    [property: Id(0)] double Prediction,
    [property: Id(1)] double? Confidence,
    [property: Id(2)] IReadOnlyDictionary<string, double> Outputs);

/// <summary>
/// The answers, the version that gave them, the time the model took, whether they came from the result cache, and
/// the route: primary, or challenger when an alias's traffic split sent the request to its challenger.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.inference.PredictionView")]
public sealed record PredictionView(
    [property: Id(0)] string Model,
    [property: Id(1)] string Version,
    [property: Id(2)] IReadOnlyList<RowPrediction> Predictions,
    [property: Id(3)] double InferenceMs,
    [property: Id(4)] bool Cached = false,
    [property: Id(5)] string Route = "primary");

/// <summary>What one of several requests sent together got: its prediction, or the refusal it alone would have got.</summary>
[GenerateSerializer, Alias("phantomml.inference.PredictOutcome")]
public sealed record PredictOutcome([property: Id(0)] PredictionView? Prediction, [property: Id(1)] PhantomException? Refusal = null);

/// <summary>One input the model expects.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.inference.ModelInput")]
public sealed record ModelInput([property: Id(0)] string Name, [property: Id(1)] string ElementType, [property: Id(2)] IReadOnlyList<int> Shape);

/// <summary>Serves predictions from registered models' ONNX artifacts. A stateless worker: every silo serves.</summary>
[ClientCallable]
[Alias("phantomml.inference.IPredictionGrain")]
public interface IPredictionGrain : IGrainWithIntegerKey
{
    /// <summary>Most rows in one request.</summary>
    const int MaxRows = 10_000;

    /// <summary>Most requests in one <see cref="PredictManyAsync"/>.</summary>
    const int MaxRequests = 256;

    /// <summary>Scores rows with a version, addressed by label or alias (or "active").</summary>
    [Alias("PredictAsync")] Task<PredictionView> PredictAsync(string tenantKey, string model, string versionOrAlias, PredictRequest request);

    /// <summary>
    /// Several requests of one caller for the same version in one call (the SDK coalesces concurrent predictions): each
    /// is checked, charged, recorded and answered exactly as if sent alone (its own prediction or its own refusal), and
    /// their rows are scored together.
    /// </summary>
    [Alias("PredictManyAsync")] Task<IReadOnlyList<PredictOutcome>> PredictManyAsync(string tenantKey, string model, string versionOrAlias,
        IReadOnlyList<PredictRequest> requests);

    /// <summary>The inputs a version's model expects.</summary>
    [Alias("DescribeAsync")] Task<IReadOnlyList<ModelInput>> DescribeAsync(string tenantKey, string model, string versionOrAlias);
}

/// <summary>
/// One version's serving over a time window: requests and predictions, latency percentiles (of the model's scoring
/// time per request, in milliseconds), mean confidence and how confidences spread over ten bins ([0, 0.1) ...
/// [0.9, 1]), in total and per time bucket. <see cref="Route"/> says how the version served: primary, challenger
/// (a traffic split) or shadow (mirrored, never returned).
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.inference.VersionServing")]
public sealed record VersionServing(
    [property: Id(0)] string Version,
    [property: Id(1)] string Route,
    [property: Id(2)] long Requests,
    [property: Id(3)] long Predictions,
    [property: Id(4)] long CachedRequests,
    [property: Id(5)] double P50Ms,
    [property: Id(6)] double P95Ms,
    [property: Id(7)] double P99Ms,
    [property: Id(8)] double? MeanConfidence,
    [property: Id(9)] IReadOnlyList<long> ConfidenceBins,
    [property: Id(10)] IReadOnlyList<ServingBucket> Buckets);

/// <summary>One time bucket of a version's serving; throughput is predictions per second over the bucket.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.inference.ServingBucket")]
public sealed record ServingBucket(
    [property: Id(0)] DateTimeOffset Start,
    [property: Id(1)] long Requests,
    [property: Id(2)] long Predictions,
    [property: Id(3)] double PredictionsPerSecond,
    [property: Id(4)] double P50Ms,
    [property: Id(5)] double P95Ms,
    [property: Id(6)] double P99Ms,
    [property: Id(7)] double? MeanConfidence);

/// <summary>A model's serving analytics from <see cref="From"/> to <see cref="To"/>, per version and route.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.inference.ServingAnalytics")]
public sealed record ServingAnalytics(
    [property: Id(0)] string Model,
    [property: Id(1)] DateTimeOffset From,
    [property: Id(2)] DateTimeOffset To,
    [property: Id(3)] int BucketSeconds,
    [property: Id(4)] IReadOnlyList<VersionServing> Versions);

/// <summary>Serving analytics from ClickHouse (inference_metrics). Stateless: reads scale out.</summary>
[ClientCallable]
[Alias("phantomml.inference.IServingAnalyticsGrain")]
public interface IServingAnalyticsGrain : IGrainWithIntegerKey
{
    /// <summary>Most time buckets one query answers.</summary>
    const int MaxBuckets = 1000;

    /// <summary>
    /// A model's serving between <paramref name="from"/> and <paramref name="to"/> (default: the last hour), in
    /// buckets of <paramref name="bucketSeconds"/> (default: the window in 60 buckets), optionally of one version.
    /// </summary>
    [Alias("GetAsync")]
    Task<ServingAnalytics> GetAsync(string tenantKey, string model, DateTimeOffset? from, DateTimeOffset? to, int? bucketSeconds, string? version);
}

/// <summary>
/// Submits a batch: score every row of a CSV dataset from the registry (<c>model://{dataset-model}/versions/{v}</c>,
/// a header naming the model's inputs, other columns passed through) with a version, label, alias or "active".
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.inference.SubmitBatch")]
public sealed record SubmitBatch([property: Id(0)] string Model, [property: Id(1)] string Version, [property: Id(2)] string DatasetUri);

/// <summary>
/// A batch inference job. Output: the input's columns plus prediction and confidence, one line per scored row, in
/// input order; rows that could not be scored are in the errors file (row number, reason), never dropped silently.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.inference.BatchView")]
public sealed record BatchView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Model,
    [property: Id(2)] string Version,
    [property: Id(3)] string DatasetUri,
    [property: Id(4)] string Status,
    [property: Id(5)] long? TotalRows,
    [property: Id(6)] long ProcessedRows,
    [property: Id(7)] long FailedRows,
    [property: Id(8)] double Progress,
    [property: Id(9)] string? OutputPath,
    [property: Id(10)] string? ErrorsPath,
    [property: Id(11)] string? Error,
    [property: Id(12)] int Attempt,
    [property: Id(13)] DateTimeOffset CreatedAt,
    [property: Id(14)] DateTimeOffset? StartedAt,
    [property: Id(15)] DateTimeOffset? CompletedAt,
    [property: Id(16)] string CreatedBy);

/// <summary>One batch inference job (key: <c>{tenantKey}/{batchId}</c>). Runs on the thread pool; its row is the state.</summary>
[ClientCallable]
[Alias("phantomml.inference.IBatchInferenceGrain")]
public interface IBatchInferenceGrain : IGrainWithStringKey
{
    /// <summary>Records the batch (pending) and starts it; answers at once.</summary>
    [Alias("SubmitAsync")] Task<BatchView> SubmitAsync(SubmitBatch command);

    /// <summary>The batch and its progress.</summary>
    [Alias("GetAsync")] Task<BatchView> GetAsync();

    /// <summary>Stops a pending or running batch; rows scored so far stay recorded, no output file is written.</summary>
    [Alias("CancelAsync")] Task<BatchView> CancelAsync();

    /// <summary>
    /// Bytes [offset, offset + count) of the batch's output file (or, with <paramref name="errors"/>, its errors file), fewer
    /// at its end; count is at most <see cref="IArtifactReaderGrain.MaxRangeBytes"/>. 404 until the file exists.
    /// </summary>
    [Alias("ReadFileAsync")] Task<byte[]> ReadFileAsync(bool errors, long offset, int count);
}
