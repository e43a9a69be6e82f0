using System.Diagnostics.Metrics;

namespace PhantomMl.Grains.Diagnostics;

/// <summary>The platform's own OpenTelemetry instruments; one meter for every area.</summary>
public static class PhantomInstruments
{
    /// <summary>The meter name to subscribe to.</summary>
    public const string MeterName = "PhantomMl";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Time partitions created by the maintenance job.</summary>
    public static readonly Counter<long> PartitionsCreated = Meter.CreateCounter<long>("phantom-partitions-created",
        description: "Time partitions created ahead of time");

    /// <summary>Expired time partitions dropped by the maintenance job.</summary>
    public static readonly Counter<long> PartitionsDropped = Meter.CreateCounter<long>("phantom-partitions-dropped",
        description: "Expired time partitions dropped");

    /// <summary>Probe grain touches, a cheap liveness signal for the grain path end to end.</summary>
    public static readonly Counter<long> ProbeTouches = Meter.CreateCounter<long>("phantom-probe-touches",
        description: "Persisted probe grain writes");
}
