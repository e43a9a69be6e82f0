using System.ComponentModel.DataAnnotations;

namespace PhantomMl.Grains.Training;

/// <summary>Batching of small metric logs. Section <c>Phantom:Metrics</c>.</summary>
public sealed class MetricsBufferOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Metrics";

    /// <summary>
    /// Batches of at most this many points are buffered; larger ones are inserted directly. Default 1,000: MLflow's clients
    /// send log-batch calls of up to 1,000 metrics, and 8 of them at once went from 50,000 to 80,000 points/s when their
    /// batches shared INSERTs instead of paying one each (bench/ mlflow; chDB takes ~100 ms per INSERT here).
    /// </summary>
    [Range(0, 100_000)]
    public int SmallBatchPoints { get; set; } = 1_000;

    /// <summary>A flush happens once this many points wait. Default 20,000.</summary>
    [Range(1, 10_000_000)]
    public int FlushPoints { get; set; } = 20_000;

    /// <summary>
    /// ...or once no further batch has arrived for this long. Default 10 ms: batches form while the previous INSERT
    /// runs (group commit), so a lone caller waits little and a crowd shares INSERTs.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Most batches waiting per silo; beyond it writers wait (backpressure, bounded memory). Default 1,000.</summary>
    [Range(1, 1_000_000)]
    public int Capacity { get; set; } = 1_000;
}
