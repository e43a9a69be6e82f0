using System.ComponentModel.DataAnnotations;

namespace PhantomMl.Grains.Agents;

/// <summary>Agent executions, workflow runs and their sweep. Section <c>Phantom:Agents</c>.</summary>
public sealed class AgentOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Agents";

    /// <summary>The first retry's delay; each further retry doubles it (with jitter). Default 1 second.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay between two attempts. Default 5 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often a running attempt proves it is alive (updated_at). Default 10 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a running attempt may stay silent before the sweep declares it lost (its silo died) and retries it.
    /// Default 1 minute.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often the sweep looks. Default 1 minute (Orleans' shortest reminder period).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often train and batch-infer agents look at the job they wait for. Default 2 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How many agent_executions each silo reserves from a tenant's monthly quota at a time (see MonthlyQuotaLeases):
    /// starting an execution then costs no write on the tenant's one usage row. Default 100.
    /// </summary>
    [Range(1, 1_000_000)]
    public int ExecutionQuotaLeaseSize { get; set; } = 100;

    /// <summary>How many bytes of agent_log_bytes each silo reserves from a tenant's monthly quota at a time. Default 1 MiB.</summary>
    [Range(1, 1L << 40)]
    public long LogQuotaLeaseBytes { get; set; } = 1 << 20;

    /// <summary>
    /// Whether webhook agents may call loopback addresses (tests and single-machine demos). Off by default: a tenant's
    /// webhook must never reach the silo's own services. Private and link-local addresses are refused always.
    /// </summary>
    public bool AllowLoopbackWebhooks { get; set; }

    /// <summary>The most bytes of a webhook's response that are read (the rest is cut). Default 64 KiB.</summary>
    [Range(1, 1 << 20)]
    public int WebhookMaxResponseBytes { get; set; } = 64 * 1024;
}
