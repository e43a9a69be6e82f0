namespace PhantomMl.Grains.Maintenance;

/// <summary>References to the cluster's maintenance grains, one activation each.</summary>
public static class MaintenanceGrainFactory
{
    /// <summary>Time partitions: created ahead, expired ones dropped.</summary>
    public static IPartitionMaintenanceGrain PartitionMaintenance(this IGrainFactory grains) =>
        grains.GetGrain<IPartitionMaintenanceGrain>(IPartitionMaintenanceGrain.ClusterKey);

    /// <summary>The sweep of orphaned artifact objects.</summary>
    public static IArtifactSweepGrain ArtifactSweep(this IGrainFactory grains) =>
        grains.GetGrain<IArtifactSweepGrain>(IArtifactSweepGrain.ClusterKey);
}
