using System.ComponentModel.DataAnnotations;

namespace PhantomMl.Grains.Maintenance;

/// <summary>How far ahead time partitions are kept and how long they live. Section <c>Phantom:Partitions</c>.</summary>
public sealed class PartitionMaintenanceOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Partitions";

    /// <summary>How often the maintenance reminder fires. Default 1 hour; Orleans' minimum reminder period is 1 minute.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>inference_jobs: months created ahead of the current one. Default 3.</summary>
    [Range(0, 24)]
    public int InferenceMonthsAhead { get; set; } = 3;

    /// <summary>inference_jobs: months kept before a partition is dropped. Default 13 (the ClickHouse analytics keep a year).</summary>
    [Range(1, 1200)]
    public int InferenceRetentionMonths { get; set; } = 13;

    /// <summary>audit_logs: days created ahead of today. Default 14.</summary>
    [Range(0, 366)]
    public int AuditDaysAhead { get; set; } = 14;

    /// <summary>
    /// Days an audit event id (a caller's idempotency key) is remembered. Audit rows themselves are kept until their own
    /// retention_until (docs/audit.md). Default 2557 (7 years, the longest framework minimum).
    /// </summary>
    [Range(1, 36500)]
    public int AuditRetentionDays { get; set; } = 2557;

    /// <summary>Expired audit rows removed per partition per pass. Default 50000.</summary>
    [Range(1, 100_000)]
    public int AuditExpiryBatch { get; set; } = 50_000;

    /// <summary>agent_executions: months created ahead of the current one. Default 3.</summary>
    [Range(0, 24)]
    public int AgentExecutionMonthsAhead { get; set; } = 3;

    /// <summary>agent_executions: months kept before a partition is dropped. Default 13.</summary>
    [Range(1, 1200)]
    public int AgentExecutionRetentionMonths { get; set; } = 13;
}
