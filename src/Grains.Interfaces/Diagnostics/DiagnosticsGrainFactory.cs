namespace PhantomMl.Grains.Diagnostics;

/// <summary>References to the grains operators use to look at the cluster.</summary>
public static class DiagnosticsGrainFactory
{
    /// <summary>The silos of the cluster (a stateless worker).</summary>
    public static IClusterGrain Cluster(this IGrainFactory grains) => grains.GetGrain<IClusterGrain>(GrainKeys.Shared);

    /// <summary>A probe: a persisted counter that names the silo hosting it.</summary>
    public static IProbeGrain Probe(this IGrainFactory grains, string key) => grains.GetGrain<IProbeGrain>(key);
}
