using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Adapters.ClickHouse;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// Records every online prediction without making the request wait on PostgreSQL or ClickHouse: the request hands its
/// <see cref="InferenceRecord"/> to this silo's queue and answers; a background loop writes what gathered (at most
/// <see cref="InferenceOptions.RecordBatchSize"/> records, at the latest after <see cref="InferenceOptions.RecordInterval"/>)
/// as one inference_jobs INSERT per tenant and one inference_metrics INSERT, both retried (by record id and by
/// deduplication token, so a retry stores nothing twice).
/// <para>
/// What a crash can lose, and the bound: the records still queued or being written when the silo dies, in steady state
/// those of the last <see cref="InferenceOptions.RecordInterval"/> (plus one write in flight). A stopping silo writes
/// what is queued first. When a store stays unavailable, records queue up to <see cref="InferenceOptions.RecordCapacity"/>;
/// beyond that, and after <see cref="WriteAttempts"/> failed attempts at a write, records are dropped, counted in
/// <see cref="Dropped"/> and logged: serving goes on, the record of it is what gives way.
/// </para>
/// </summary>
public sealed partial class InferenceRecorder : IHostedService
{
    /// <summary>Attempts at each write before its records are given up.</summary>
    public const int WriteAttempts = 5;

    private readonly Channel<InferenceRecord> _queue;
    private readonly TenantDatabase _database;
    private readonly InferenceMetricsTable _metrics;
    private readonly InferenceOptions _options;
    private readonly ILogger<InferenceRecorder> _logger;
    private long _dropped;
    private long _recorded;
    private long _lastDropLog;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _writing;

    public InferenceRecorder(TenantDatabase database, InferenceMetricsTable metrics, IOptions<InferenceOptions> options, ILogger<InferenceRecorder> logger)
    {
        (_database, _metrics, _options, _logger) = (database, metrics, options.Value, logger);
        _queue = Channel.CreateBounded<InferenceRecord>(new BoundedChannelOptions(_options.RecordCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>Records dropped on this silo since it started (queue full, or a store unavailable for every attempt).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Records written to both stores on this silo since it started.</summary>
    public long Recorded => Interlocked.Read(ref _recorded);

    /// <summary>Queues a record; never waits. A full queue drops it (counted and logged).</summary>
    public void Record(InferenceRecord record)
    {
        if (!_queue.Writer.TryWrite(record))
        {
            Drop(1, "the recording queue is full");
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _writing = Task.Run(WriteLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        await (_writing ?? Task.CompletedTask).WaitAsync(cancellationToken);
    }

    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync())
        {
            // Gather for one interval, then take everything that came: the loop wakes once per write, not once per
            // record (a wake-up per request is a thread hand-off per request, which on a busy silo costs more than the write).
            if (reader.Count < _options.RecordBatchSize && !_stopping.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(_options.RecordInterval, _stopping.Token);
                }
                catch (OperationCanceledException)
                {
                    // Stopping: write what is queued now.
                }
            }

            var batch = new List<InferenceRecord>(Math.Min(reader.Count, _options.RecordBatchSize));
            while (batch.Count < _options.RecordBatchSize && reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            // The two stores are independent: one being down does not hold up the other's records.
            var token = $"inference:{Guid.CreateVersion7():N}";
            var written = await Task.WhenAll(
                WithRetriesAsync("PostgreSQL", batch.Count, () => WriteJobRowsAsync(batch)),
                WithRetriesAsync("ClickHouse", batch.Count, () => _metrics.InsertAsync(batch, token)));
            if (written.All(ok => ok))
            {
                Interlocked.Add(ref _recorded, batch.Count);
            }
        }
    }

    private async Task WriteJobRowsAsync(List<InferenceRecord> batch)
    {
        foreach (var tenant in batch.GroupBy(record => record.TenantId))
        {
            await _database.InTenantAsync(tenant.Key, async (_, transaction) =>
            {
                await InferenceJobRows.InsertAsync(transaction, [.. tenant]);
                return true;
            });
        }
    }

    private async Task<bool> WithRetriesAsync(string store, int records, Func<Task> write)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await write();
                return true;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                if (attempt == WriteAttempts)
                {
                    LogWriteFailed(e, store, records, attempt);
                    Drop(records, $"{store} is unavailable");
                    return false;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt * attempt));
            }
        }
    }

    private void Drop(int records, string reason)
    {
        var total = Interlocked.Add(ref _dropped, records);
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastDropLog);
        if (now - last > 10_000 && Interlocked.CompareExchange(ref _lastDropLog, now, last) == last)
        {
            LogDropped(reason, total); // at most one line per 10 s, however many drops
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Inference records could not be written to {Store} ({Records} records, {Attempts} attempts)")]
    private partial void LogWriteFailed(Exception exception, string store, int records, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inference records dropped because {Reason}; {Total} dropped on this silo so far")]
    private partial void LogDropped(string reason, long total);
}
