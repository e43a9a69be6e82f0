namespace PhantomMl.Grains.Maintenance;

/// <summary>How far ahead time partitions are kept and how long they live. Section <c>Phantom:Partitions</c>.</summary>
public sealed class PartitionMaintenanceOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Partitions";

    /// <summary>How often the maintenance reminder fires. Default 1 hour; Orleans' minimum reminder period is 1 minute.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>inference_jobs: months created ahead of the current one. Default 3.</summary>
    public int InferenceMonthsAhead { get; set; } = 3;

    /// <summary>inference_jobs: months kept before a partition is dropped. Default 13 (the ClickHouse analytics keep a year).</summary>
    public int InferenceRetentionMonths { get; set; } = 13;

    /// <summary>audit_logs: days created ahead of today. Default 14.</summary>
    public int AuditDaysAhead { get; set; } = 14;

    /// <summary>audit_logs: days kept before a partition is dropped. Default 2557 (7 years, a common compliance horizon).</summary>
    public int AuditRetentionDays { get; set; } = 2557;

    /// <summary>agent_executions: months created ahead of the current one. Default 3.</summary>
    public int AgentExecutionMonthsAhead { get; set; } = 3;

    /// <summary>agent_executions: months kept before a partition is dropped. Default 13.</summary>
    public int AgentExecutionRetentionMonths { get; set; } = 13;
}
