using PhantomMl.Grains.Inference;

namespace PhantomMl.Client;

/// <summary>Online predictions: the same operations as .../models/{name}/predict.</summary>
public sealed partial class PhantomClient
{
    /// <summary>
    /// Scores rows with a version (label, alias, or "active" for the active version); <paramref name="bypassCache"/>
    /// scores them afresh instead of answering from the result cache.
    /// </summary>
    public Task<PredictionView> PredictAsync(string tenantKey, string model, string versionOrAlias, IReadOnlyList<IReadOnlyDictionary<string, double>> rows,
        bool bypassCache = false, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.GetGrain<IPredictionGrain>(0).PredictAsync(tenantKey, model, versionOrAlias, new PredictRequest(rows, bypassCache)), cancellationToken);

    /// <summary>The inputs a version's model expects.</summary>
    public Task<IReadOnlyList<ModelInput>> DescribeModelInputsAsync(string tenantKey, string model, string versionOrAlias, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.GetGrain<IPredictionGrain>(0).DescribeAsync(tenantKey, model, versionOrAlias), cancellationToken);
}
