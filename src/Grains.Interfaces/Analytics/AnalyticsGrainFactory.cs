namespace PhantomMl.Grains.Analytics;

/// <summary>References to the analytics grains.</summary>
public static class AnalyticsGrainFactory
{
    /// <summary>Performance analytics (a stateless worker).</summary>
    public static IAnalyticsGrain Analytics(this IGrainFactory grains) => grains.GetGrain<IAnalyticsGrain>(GrainKeys.Shared);
}
