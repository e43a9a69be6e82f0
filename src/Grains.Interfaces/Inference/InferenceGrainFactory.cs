namespace PhantomMl.Grains.Inference;

/// <summary>References to the Inference area's grains, keyed by <see cref="GrainKeys"/>.</summary>
public static class InferenceGrainFactory
{
    /// <summary>Online predictions (a stateless worker).</summary>
    public static IPredictionGrain Predictor(this IGrainFactory grains) => grains.GetGrain<IPredictionGrain>(GrainKeys.Shared);

    /// <summary>Serving analytics (a stateless worker).</summary>
    public static IServingAnalyticsGrain ServingAnalytics(this IGrainFactory grains) => grains.GetGrain<IServingAnalyticsGrain>(GrainKeys.Shared);

    /// <summary>One batch inference job.</summary>
    public static IBatchInferenceGrain Batch(this IGrainFactory grains, string tenantKey, Guid batchId) =>
        grains.GetGrain<IBatchInferenceGrain>(GrainKeys.TenantAndId(tenantKey, batchId));
}
