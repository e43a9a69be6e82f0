using System.ComponentModel.DataAnnotations;

namespace PhantomMl.Grains.Training;

/// <summary>Training runs and their watchdog. Section <c>Phantom:Training</c>.</summary>
public sealed class TrainingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Training";

    /// <summary>How often a built-in run proves it is alive. Default 10 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a running job may stay silent (no heartbeat, progress, metrics or status) before the watchdog declares
    /// its runner lost. Default 2 minutes; external runners must report at least this often.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often the watchdog looks. Default 1 minute (Orleans' shortest reminder period).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan WatchdogInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Where a built-in run keeps its copy of the dataset while it trains. Default: the system's temporary folder.</summary>
    public string? WorkFolder { get; set; }
}
