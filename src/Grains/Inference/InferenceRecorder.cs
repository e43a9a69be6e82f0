using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// Records every online prediction without making the request wait on PostgreSQL or ClickHouse: the request hands its
/// <see cref="InferenceRecord"/> to this silo's queue and answers; a background loop writes what gathered (at most
/// <see cref="InferenceOptions.RecordBatchSize"/> records, at the latest after <see cref="InferenceOptions.RecordInterval"/>)
/// as one inference_jobs INSERT per tenant and one inference_metrics INSERT, both retried (by record id and by
/// deduplication token, so a retry stores nothing twice). One tenant cannot crowd out the others: each holds at most its
/// <c>recording_queue_records</c> quota of the queue (beyond it, its own records are dropped and counted), and a shared
/// ClickHouse INSERT that the server refuses is split by tenant, so one tenant's records never fail another's.
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
    private readonly ConcurrentDictionary<Guid, int> _queuedPerTenant = new();
    private readonly ConcurrentDictionary<Guid, long> _droppedPerTenant = new();
    private readonly TenantDatabase _database;
    private readonly InferenceSql _sql;
    private readonly InferenceMetricsTable _metrics;
    private readonly InferenceOptions _options;
    private readonly ILogger<InferenceRecorder> _logger;
    private long _dropped;
    private long _recorded;
    private long _lastDropLog;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _writing;

    public InferenceRecorder(TenantDatabase database, InferenceSql sql, InferenceMetricsTable metrics, IOptions<InferenceOptions> options,
        ILogger<InferenceRecorder> logger)
    {
        (_database, _sql, _metrics, _options, _logger) = (database, sql, metrics, options.Value, logger);
        _queue = Channel.CreateBounded<InferenceRecord>(new BoundedChannelOptions(_options.RecordCapacity) { SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>Records dropped on this silo since it started (queue full, or a store unavailable for every attempt).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Records written to both stores on this silo since it started.</summary>
    public long Recorded => Interlocked.Read(ref _recorded);

    /// <summary>Records of one tenant dropped on this silo since it started.</summary>
    public long DroppedFor(Guid tenantId) => _droppedPerTenant.GetValueOrDefault(tenantId);

    /// <summary>
    /// Queues a record; never waits. Dropped (counted and logged) when the tenant already has <paramref name="tenantShare"/>
    /// records waiting, or the whole queue is full.
    /// </summary>
    public void Record(InferenceRecord record, long tenantShare)
    {
        if (_queuedPerTenant.AddOrUpdate(record.TenantId, 1, (_, queued) => queued + 1) > tenantShare)
        {
            Dequeued(record.TenantId, 1);
            DropFor(record.TenantId, 1, "a tenant's share of the recording queue is full");
        }
        else if (!_queue.Writer.TryWrite(record))
        {
            Dequeued(record.TenantId, 1);
            DropFor(record.TenantId, 1, "the recording queue is full");
        }
    }

    private void Dequeued(Guid tenantId, int records) => _queuedPerTenant.AddOrUpdate(tenantId, 0, (_, queued) => Math.Max(0, queued - records));

    private void DropFor(Guid tenantId, int records, string reason)
    {
        _droppedPerTenant.AddOrUpdate(tenantId, records, (_, dropped) => dropped + records);
        Drop(records, reason);
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

            foreach (var tenant in batch.GroupBy(record => record.TenantId))
            {
                Dequeued(tenant.Key, tenant.Count());
            }

            // The two stores are independent: one being down does not hold up the other's records.
            var token = $"inference:{Guid.CreateVersion7():N}";
            var written = await Task.WhenAll(
                WithRetriesAsync("PostgreSQL", batch.Count, () => WriteJobRowsAsync(batch)),
                WriteMetricsAsync(batch, token));
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
                await _sql.InsertRequestsAsync(transaction, [.. tenant]);
                return true;
            });
        }
    }

    /// <summary>
    /// One shared INSERT; if ClickHouse refuses it (a server error: nothing of it was stored), each tenant's records are
    /// inserted on their own, so whatever one tenant's records did wrong fails only that tenant's.
    /// </summary>
    private async Task<bool> WriteMetricsAsync(List<InferenceRecord> batch, string token)
    {
        try
        {
            await _metrics.InsertAsync(batch, token);
            return true;
        }
        catch (ClickHouse.Driver.ClickHouseServerException e) when (batch.Select(record => record.TenantId).Distinct().Skip(1).Any())
        {
            LogSplit(e, batch.Count);
            var written = true;
            foreach (var tenant in batch.GroupBy(record => record.TenantId))
            {
                List<InferenceRecord> records = [.. tenant];
                written &= await WithRetriesAsync("ClickHouse", records.Count, () => _metrics.InsertAsync(records, $"{token}:{tenant.Key:N}"));
            }

            return written;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return await WithRetriesAsync("ClickHouse", batch.Count, () => _metrics.InsertAsync(batch, token));
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

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "ClickHouse refused a shared INSERT of {Records} inference records; inserting each tenant's on its own")]
    private partial void LogSplit(Exception exception, int records);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inference records dropped because {Reason}; {Total} dropped on this silo so far")]
    private partial void LogDropped(string reason, long total);
}
