namespace PhantomMl.Grains.Training;

/// <summary>References to the Training area's grains, keyed by <see cref="GrainKeys"/>.</summary>
public static class TrainingGrainFactory
{
    /// <summary>One training job.</summary>
    public static ITrainingJobGrain TrainingJob(this IGrainFactory grains, string tenantKey, Guid jobId) =>
        grains.GetGrain<ITrainingJobGrain>(GrainKeys.TenantAndId(tenantKey, jobId));

    /// <summary>A tenant's training queue.</summary>
    public static ITrainingSchedulerGrain TrainingScheduler(this IGrainFactory grains, string tenantKey) =>
        grains.GetGrain<ITrainingSchedulerGrain>(GrainKeys.Tenant(tenantKey));

    /// <summary>One project of training jobs (an MLflow experiment).</summary>
    public static ITrainingProjectGrain TrainingProject(this IGrainFactory grains, string tenantKey, string projectId) =>
        grains.GetGrain<ITrainingProjectGrain>(GrainKeys.Named(tenantKey, projectId));

    /// <summary>A tenant's projects and runs, searched.</summary>
    public static ITrackingCatalogGrain TrackingCatalog(this IGrainFactory grains, string tenantKey) =>
        grains.GetGrain<ITrackingCatalogGrain>(GrainKeys.Tenant(tenantKey));

    /// <summary>Metric logging and reading (a stateless worker).</summary>
    public static ITrainingMetricsGrain TrainingMetrics(this IGrainFactory grains) => grains.GetGrain<ITrainingMetricsGrain>(GrainKeys.Shared);

    /// <summary>The cluster's one training watchdog.</summary>
    public static ITrainingWatchdogGrain TrainingWatchdog(this IGrainFactory grains) =>
        grains.GetGrain<ITrainingWatchdogGrain>(ITrainingWatchdogGrain.ClusterKey);
}
