using System.Collections.Frozen;

namespace PhantomMl.Grains.Tenants;

/// <summary>How a quota is counted.</summary>
public enum QuotaKind
{
    /// <summary>What exists now (users, models, stored bytes): counted in tenant_resource_usage over one endless period.</summary>
    Gauge,

    /// <summary>What was used in the calendar month (UTC): counted in tenant_resource_usage per month.</summary>
    Monthly,

    /// <summary>How much one piece of work may take, or how many may run at once: checked when the work is admitted, not summed.</summary>
    Limit,
}

/// <summary>One quota: its name, how it is counted, and what it bounds.</summary>
public sealed record QuotaDefinition(string Name, QuotaKind Kind, string Bounds, long Basic, long Pro, long Enterprise);

/// <summary>
/// Every bound on the work a tenant can make the platform do, with a default per subscription tier that a tenant's own
/// resource_quotas override key by key. Each is enforced where the work is admitted, before it starts. This table is
/// the quota table of docs/tenants.md.
/// </summary>
public static class Quotas
{
    public const string Users = "users";
    public const string Models = "models";
    public const string ModelVersions = "model_versions";
    public const string ArtifactBytes = "artifact_bytes";
    public const string ModelFileBytes = "model_file_bytes";
    public const string ConcurrentTrainingJobs = "concurrent_training_jobs";
    public const string TrainingDatasetBytes = "training_dataset_bytes";
    public const string InferenceRequests = "inference_requests";
    public const string InferenceRows = "inference_rows";
    public const string PredictRowsPerRequest = "predict_rows_per_request";
    public const string ShadowScorings = "shadow_scorings";
    public const string ConcurrentShadowScorings = "concurrent_shadow_scorings";
    public const string ConcurrentBatchRuns = "concurrent_batch_runs";
    public const string BatchDatasetBytes = "batch_dataset_bytes";
    public const string OnnxSessionBytes = "onnx_session_bytes";
    public const string OnnxThreads = "onnx_threads";
    public const string TrackingProjects = "tracking_projects";
    public const string TrackingRuns = "tracking_runs";
    public const string MetricPointsPerRequest = "metric_points_per_request";
    public const string MetricBatchSpanDays = "metric_batch_span_days";
    public const string RecordingQueueRecords = "recording_queue_records";
    public const string ConcurrentAgentExecutions = "concurrent_agent_executions";
    public const string AgentExecutions = "agent_executions";
    public const string ConcurrentWorkflowRuns = "concurrent_workflow_runs";
    public const string WorkflowRunExecutions = "workflow_run_executions";
    public const string AgentPayloadBytes = "agent_payload_bytes";
    public const string AgentLogEntriesPerExecution = "agent_log_entries_per_execution";
    public const string AgentLogBytes = "agent_log_bytes";
    public const string AgentLogRetentionDays = "agent_log_retention_days";
    public const string AuditRetentionDays = "audit_retention_days";

    private const long KiB = 1L << 10;
    private const long MiB = 1L << 20;
    private const long GiB = 1L << 30;

    /// <summary>Every quota, in the order docs/tenants.md lists them.</summary>
    public static readonly IReadOnlyList<QuotaDefinition> All =
    [
        new(Users, QuotaKind.Gauge, "users of the tenant", 10, 100, 10_000),
        new(Models, QuotaKind.Gauge, "registered models", 50, 500, 10_000),
        new(ModelVersions, QuotaKind.Gauge, "registered versions", 500, 10_000, 1_000_000),
        new(ArtifactBytes, QuotaKind.Gauge, "bytes of stored artifacts, uploads in progress reserved", 10 * GiB, 100 * GiB, 10L << 40),
        new(ModelFileBytes, QuotaKind.Limit, "bytes of one artifact", 1 * GiB, 10 * GiB, 50 * GiB),
        new(ConcurrentTrainingJobs, QuotaKind.Limit, "training jobs scheduled or running at once", 2, 10, 100),
        new(TrainingDatasetBytes, QuotaKind.Limit, "bytes of the dataset one built-in training run reads", 256 * MiB, 1 * GiB, 4 * GiB),
        new(InferenceRequests, QuotaKind.Monthly, "predict requests (a cached answer counts)", 100_000, 10_000_000, 1_000_000_000),
        new(InferenceRows, QuotaKind.Monthly, "rows scored: online, batch and shadow", 10_000_000, 1_000_000_000, 100_000_000_000),
        new(PredictRowsPerRequest, QuotaKind.Limit, "rows in one predict request", 1_000, 10_000, 10_000),
        new(ShadowScorings, QuotaKind.Monthly, "rows mirrored to shadow versions", 1_000_000, 100_000_000, 10_000_000_000),
        new(ConcurrentShadowScorings, QuotaKind.Limit, "shadow scorings in flight per silo; more are skipped and counted", 4, 16, 64),
        new(ConcurrentBatchRuns, QuotaKind.Limit, "batch inference jobs pending or running at once", 1, 4, 16),
        new(BatchDatasetBytes, QuotaKind.Limit, "bytes of the dataset one batch reads", 256 * MiB, 1 * GiB, 4 * GiB),
        new(OnnxSessionBytes, QuotaKind.Limit, "memory of the tenant's loaded models per silo (twice their ONNX size)", 256 * MiB, 1 * GiB, 4 * GiB),
        new(OnnxThreads, QuotaKind.Limit, "ONNX Runtime threads one model runs on", 1, 2, 4),
        new(TrackingProjects, QuotaKind.Gauge, "tracking projects (MLflow experiments) created; a deleted one still counts", 100, 10_000, 1_000_000),
        new(TrackingRuns, QuotaKind.Gauge, "tracking runs (MLflow runs) created; a deleted one still counts", 10_000, 1_000_000, 100_000_000),
        new(MetricPointsPerRequest, QuotaKind.Limit, "metric points in one log request", 100_000, 100_000, 100_000),
        new(MetricBatchSpanDays, QuotaKind.Limit, "days between the oldest and newest point of one metric batch", 31, 31, 31),
        new(RecordingQueueRecords, QuotaKind.Limit, "inference records waiting to be written, per silo; more are dropped and counted", 20_000,
            50_000, 100_000),
        new(ConcurrentAgentExecutions, QuotaKind.Gauge, "agent executions pending or running, waiting for approval included", 20, 1_000, 20_000),
        new(AgentExecutions, QuotaKind.Monthly, "agent executions started (a retry is the same execution)", 10_000, 1_000_000, 100_000_000),
        new(ConcurrentWorkflowRuns, QuotaKind.Gauge, "workflow runs pending or running", 5, 100, 2_000),
        new(WorkflowRunExecutions, QuotaKind.Limit, "executions one workflow run may start, fan-out included", 100, 500, 1_000),
        new(AgentPayloadBytes, QuotaKind.Limit, "bytes of an execution's context or output, or of a run's input", 64 * KiB, 256 * KiB, 1 * MiB),
        new(AgentLogEntriesPerExecution, QuotaKind.Limit, "log entries kept per execution; more are counted, not stored", 1_000, 10_000, 10_000),
        new(AgentLogBytes, QuotaKind.Monthly, "bytes of execution log entries written", 100 * MiB, 10 * GiB, 1L << 40),
        new(AgentLogRetentionDays, QuotaKind.Limit, "days an execution's log entries are kept", 7, 30, 365),
        new(AuditRetentionDays, QuotaKind.Limit, "days audit rows are kept; never less than the tenant's compliance frameworks require", 365, 365,
            365),
    ];

    /// <summary>Quotas by name.</summary>
    public static readonly FrozenDictionary<string, QuotaDefinition> ByName = All.ToFrozenDictionary(q => q.Name);

    /// <summary>Defaults per subscription tier; a tenant's own resource_quotas override them key by key.</summary>
    public static readonly FrozenDictionary<string, FrozenDictionary<string, long>> ByTier = new Dictionary<string, FrozenDictionary<string, long>>
    {
        ["basic"] = All.ToFrozenDictionary(q => q.Name, q => q.Basic),
        ["pro"] = All.ToFrozenDictionary(q => q.Name, q => q.Pro),
        ["enterprise"] = All.ToFrozenDictionary(q => q.Name, q => q.Enterprise),
    }.ToFrozenDictionary();

    /// <summary>Every quota name.</summary>
    public static readonly FrozenSet<string> Names = All.Select(q => q.Name).ToFrozenSet();

    /// <summary>The period a quota is counted in at <paramref name="now"/>: [start, end), end null for gauges and limits.</summary>
    public static (DateTimeOffset Start, DateTimeOffset? End) PeriodOf(string quota, DateTimeOffset now)
    {
        if (ByName[quota].Kind != QuotaKind.Monthly)
        {
            return (DateTimeOffset.UnixEpoch, null);
        }

        var start = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return (start, start.AddMonths(1));
    }
}
