using System.ComponentModel.DataAnnotations;

namespace PhantomMl.Grains.Analytics;

/// <summary>Platform metrics collection. Section <c>Phantom:Analytics</c>.</summary>
public sealed class AnalyticsOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Analytics";

    /// <summary>How often each silo samples its resources into resource_metrics and Redis. Default 15 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ResourceInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Whether each silo measures its HTTP requests and grain calls into performance_metrics. Default on.</summary>
    public bool ServiceMetrics { get; set; } = true;

    /// <summary>How often each silo writes its service metrics to performance_metrics and Redis. Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ServiceInterval { get; set; } = TimeSpan.FromSeconds(10);
}
