using PhantomMl.Grains.Inference;
using PhantomMl.Grains.Models;

namespace PhantomMl.Client;

/// <summary>Predictions, serving analytics and batch inference: the same operations as .../predict, .../analytics and .../batches.</summary>
public sealed partial class PhantomClient
{
    /// <summary>
    /// Scores rows with a version (label, alias, or "active" for the active version); <paramref name="bypassCache"/>
    /// scores them afresh instead of answering from the result cache. Concurrent predictions for the same version are
    /// sent together in one grain call (<see cref="PhantomClientOptions.CoalescePredictions"/>), each answered as if alone.
    /// </summary>
    public Task<PredictionView> PredictAsync(string tenantKey, string model, string versionOrAlias,
        IReadOnlyList<IReadOnlyDictionary<string, double>> rows, bool bypassCache = false, CancellationToken cancellationToken = default) =>
        _options.CoalescePredictions
            ? _predictions.PredictAsync((tenantKey, model, versionOrAlias), new PredictRequest(rows, bypassCache)).WaitAsync(cancellationToken)
            : CallAsync(grains => grains.Predictor().PredictAsync(tenantKey, model, versionOrAlias, new PredictRequest(rows, bypassCache)),
                cancellationToken);

    /// <summary>The inputs a version's model expects.</summary>
    public Task<IReadOnlyList<ModelInput>> DescribeModelInputsAsync(string tenantKey, string model, string versionOrAlias,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Predictor().DescribeAsync(tenantKey, model, versionOrAlias), cancellationToken);

    /// <summary>A model's serving per version and route between <paramref name="from"/> and <paramref name="to"/> (default: the last hour).</summary>
    public Task<ServingAnalytics> GetServingAnalyticsAsync(string tenantKey, string model, DateTimeOffset? from = null, DateTimeOffset? to = null,
        int? bucketSeconds = null, string? version = null, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.ServingAnalytics().GetAsync(tenantKey, model, from, to, bucketSeconds, version), cancellationToken);

    /// <summary>
    /// Submits a batch: every row of the CSV at <paramref name="datasetUri"/> (<c>model://{dataset}/versions/{v}</c>)
    /// scored by the version.
    /// </summary>
    public Task<BatchView> SubmitBatchAsync(string tenantKey, string model, string versionOrAlias, string datasetUri,
        CancellationToken cancellationToken = default)
    {
        var batchId = Guid.CreateVersion7(); // one id across the call's retries: a retried submission finds its batch
        return CallAsync(grains => Batch(grains, tenantKey, batchId).SubmitAsync(new SubmitBatch(model, versionOrAlias, datasetUri)),
            cancellationToken);
    }

    /// <summary>A batch and its progress.</summary>
    public Task<BatchView> GetBatchAsync(string tenantKey, Guid batchId, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Batch(grains, tenantKey, batchId).GetAsync(), cancellationToken);

    /// <summary>Cancels a pending or running batch.</summary>
    public Task<BatchView> CancelBatchAsync(string tenantKey, Guid batchId, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Batch(grains, tenantKey, batchId).CancelAsync(), cancellationToken);

    /// <summary>
    /// Copies a completed batch's output CSV (or, with <paramref name="errors"/>, its errors CSV) into
    /// <paramref name="destination"/>.
    /// </summary>
    public async Task DownloadBatchFileAsync(string tenantKey, Guid batchId, Stream destination, bool errors = false,
        CancellationToken cancellationToken = default)
    {
        const int Chunk = IArtifactReaderGrain.MaxRangeBytes;
        for (long offset = 0; ; offset += Chunk)
        {
            var bytes = await CallAsync(grains => Batch(grains, tenantKey, batchId).ReadFileAsync(errors, offset, Chunk), cancellationToken);
            await destination.WriteAsync(bytes, cancellationToken);
            if (bytes.Length < Chunk)
            {
                return;
            }
        }
    }

    private static IBatchInferenceGrain Batch(IGrainFactory grains, string tenantKey, Guid batchId) => grains.Batch(tenantKey, batchId);
}
