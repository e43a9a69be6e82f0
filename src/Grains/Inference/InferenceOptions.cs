using System.ComponentModel.DataAnnotations;

namespace PhantomMl.Grains.Inference;

/// <summary>Model serving. Section <c>Phantom:Inference</c>.</summary>
public sealed class InferenceOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Inference";

    /// <summary>
    /// Memory the loaded models of one silo may take (estimated as twice the ONNX size); least recently used models are
    /// unloaded beyond it. Default 512 MiB.
    /// </summary>
    [Range(16L << 20, long.MaxValue)]
    public long SessionBudgetBytes { get; set; } = 512L << 20;

    /// <summary>Micro-batching: most rows scored in one ONNX Runtime call. Default 512.</summary>
    [Range(1, 100_000)]
    public int MaxBatchRows { get; set; } = 512;

    /// <summary>
    /// Micro-batching: how long a batch that is not full may wait for more requests to join. Default zero: batches form
    /// from the requests that arrive while the previous batch is scored, so a lone request never waits; a small delay
    /// trades latency for larger batches when requests arrive spread out.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.Zero;

    /// <summary>How long answers for identical inputs are kept in Redis; zero turns the result cache off. Default 10 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan ResultCacheTtl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a silo trusts what a label, alias or "active" resolved to. Default 5 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ResolutionTtl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Recording: a write to PostgreSQL and ClickHouse happens at the latest this long after a request. Default 200 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan RecordInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Recording: most records in one write. Default 5,000.</summary>
    [Range(1, 1_000_000)]
    public int RecordBatchSize { get; set; } = 5_000;

    /// <summary>Recording: most records waiting per silo while a store is slow or down; beyond it they are dropped. Default 200,000.</summary>
    [Range(1, 100_000_000)]
    public int RecordCapacity { get; set; } = 200_000;

    /// <summary>
    /// Request quota: how many requests a silo reserves from a tenant's monthly inference_requests quota at a time, so
    /// that most requests are counted without a PostgreSQL round trip. Default 500.
    /// </summary>
    [Range(1, 1_000_000)]
    public int QuotaLeaseSize { get; set; } = 500;

    /// <summary>
    /// Row quotas (inference_rows, shadow_scorings): how many rows a silo reserves from a tenant's monthly quota at a
    /// time. Default 10,000.
    /// </summary>
    [Range(1, 100_000_000)]
    public int RowQuotaLeaseSize { get; set; } = 10_000;

    /// <summary>Batch inference: rows scored per chunk (and recorded per transaction). Default 5,000.</summary>
    [Range(1, 1_000_000)]
    public int BatchChunkRows { get; set; } = 5_000;

    /// <summary>Batch inference: chunks scored at once. Default 2.</summary>
    [Range(1, 64)]
    public int BatchParallelChunks { get; set; } = 2;

    /// <summary>
    /// Batch inference: how long a running batch may show no progress before its run counts as lost with its silo and
    /// is started again (the batch's reminder looks every <see cref="BatchWatchInterval"/>). Default 2 minutes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan BatchSilentFor { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Batch inference: how often an unfinished batch's reminder checks that its run is alive. Orleans refuses reminders
    /// more frequent than <c>Phantom:Reminders:MinimumReminderPeriod</c> (1 minute unless configured). Default 1 minute.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan BatchWatchInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Batch inference: largest input CSV accepted. Default 1 GiB.</summary>
    [Range(1L, long.MaxValue)]
    public long BatchMaxInputBytes { get; set; } = 1L << 30;
}
