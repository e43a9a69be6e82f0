using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace PhantomMl.Grains.Training;

/// <summary>
/// Small metric batches (a runner logging one point at a time) gathered per silo into one ClickHouse INSERT by size
/// and time, so many tiny logs do not become many tiny parts. A caller's call returns only once the INSERT that holds
/// its points has succeeded: acknowledged means stored. A flush is retried under one deduplication token, so a retry
/// after an unclear failure stores its rows once; once stored, each batch id is remembered in Redis for a day, so a
/// client retrying a batch whose answer it lost is acknowledged without storing it again. The one gap: a silo dying
/// between a flush and remembering its batch ids lets such a retry store those points twice (never lose them).
/// Writers wait when <see cref="MetricsBufferOptions.Capacity"/> batches are pending; stopping the silo flushes what waits.
/// Up to four INSERTs run at once; their batches are disjoint, so order between them does not matter.
/// </summary>
public sealed partial class MetricsBuffer : IHostedService
{
    private const int FlushAttempts = 5;
    private const int FlushesInFlight = 4;
    private readonly SemaphoreSlim _flushSlots = new(FlushesInFlight, FlushesInFlight);
    private static readonly TimeSpan Remembered = TimeSpan.FromDays(1);
    private readonly Channel<Pending> _pending;
    private readonly TrainingMetricsTable _table;
    private readonly IConnectionMultiplexer _redis;
    private readonly MetricsBufferOptions _options;
    private readonly ILogger<MetricsBuffer> _logger;
    private Task? _flushing;

    public MetricsBuffer(TrainingMetricsTable table, IConnectionMultiplexer redis, IOptions<MetricsBufferOptions> options,
        ILogger<MetricsBuffer> logger)
    {
        (_table, _redis, _options, _logger) = (table, redis, options.Value, logger);
        _pending = Channel.CreateBounded<Pending>(new BoundedChannelOptions(_options.Capacity) { SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>Whether a batch of this size goes through the buffer.</summary>
    public bool Takes(MetricBatch batch) => batch.Values.Length <= _options.SmallBatchPoints;

    /// <summary>Stores the batch with others; returns once it is in ClickHouse (or was before).</summary>
    public async Task WriteAsync(Guid tenantId, Guid jobId, MetricBatch batch)
    {
        var key = RememberKey(tenantId, jobId, batch.BatchId);
        try
        {
            if (await _redis.GetDatabase().KeyExistsAsync(key))
            {
                return; // stored before: a client retry
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Without Redis a client's retry cannot be recognised: it may store its points twice, never lose them.
            LogRetriesUnknown(e);
        }

        var pending = new Pending(tenantId, jobId, batch, key, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            await _pending.Writer.WriteAsync(pending);
        }
        catch (ChannelClosedException)
        {
            throw PhantomException.Unavailable(ProblemTypes.SiloStopping, "This silo is stopping",
                "The metric points were not stored; send the batch again (another silo takes it).");
        }

        await pending.Stored.Task;
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _flushing = Task.Run(FlushLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _pending.Writer.TryComplete();
        await (_flushing ?? Task.CompletedTask).WaitAsync(cancellationToken);
    }

    private async Task FlushLoopAsync()
    {
        var reader = _pending.Reader;
        while (await reader.WaitToReadAsync())
        {
            var batch = new List<Pending>();
            var points = 0;
            var clock = Stopwatch.StartNew();
            // Gather until enough points wait or nothing more arrives within the interval.
            while (points < _options.FlushPoints)
            {
                if (reader.TryRead(out var next))
                {
                    batch.Add(next);
                    points += next.Batch.Values.Length;
                    clock.Restart();
                    continue;
                }

                var left = _options.FlushInterval - clock.Elapsed;
                if (left <= TimeSpan.Zero || reader.Completion.IsCompleted)
                {
                    break;
                }

                using var wait = new CancellationTokenSource(left);
                try
                {
                    if (!await reader.WaitToReadAsync(wait.Token))
                    {
                        break;
                    }
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            // Up to FlushesInFlight INSERTs at once: while one runs, the next batch gathers and can go too.
            await _flushSlots.WaitAsync();
            _ = FlushInSlotAsync(batch, points);
        }

        for (var slot = 0; slot < FlushesInFlight; slot++)
        {
            await _flushSlots.WaitAsync(); // every flush in flight has finished
        }
    }

    private async Task FlushInSlotAsync(List<Pending> batch, int points)
    {
        try
        {
            await FlushAsync(batch, points);
        }
        finally
        {
            _flushSlots.Release();
        }
    }

    /// <summary>
    /// One shared INSERT of the gathered batches. If ClickHouse refuses it (a server error: nothing of it was stored) and it
    /// holds more than one tenant's points, each tenant's batches are inserted on their own, so whatever one tenant's
    /// points did wrong fails only that tenant's callers.
    /// </summary>
    private async Task FlushAsync(List<Pending> batch, int points)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var token = $"flush:{Guid.CreateVersion7():N}";
        var failure = await InsertAsync(batch, token, retry: false);
        if (failure is ClickHouse.Driver.ClickHouseServerException && batch.Select(p => p.TenantId).Distinct().Skip(1).Any())
        {
            LogSplit(failure, batch.Count);
            foreach (var tenant in batch.GroupBy(p => p.TenantId))
            {
                List<Pending> own = [.. tenant];
                await CompleteAsync(own, await InsertAsync(own, $"{token}:{tenant.Key:N}", retry: true), points);
            }

            return;
        }

        await CompleteAsync(batch, failure is null ? null : await InsertAsync(batch, token, retry: true), points);
    }

    /// <summary>Inserts under one deduplication token; the failure, or null. Retried (same token) when <paramref name="retry"/>.</summary>
    private async Task<Exception?> InsertAsync(List<Pending> batch, string token, bool retry)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _table.InsertAsync([.. batch.Select(p => (p.TenantId, p.JobId, p.Batch))], token);
                return null;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                if (!retry || attempt == FlushAttempts)
                {
                    return e;
                }

                // Same token on every attempt: an attempt that did land is not stored twice.
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt * attempt));
            }
        }
    }

    /// <summary>Answers the batches' callers: stored (remembered in Redis for client retries), or the failure.</summary>
    private async Task CompleteAsync(List<Pending> batch, Exception? failure, int points)
    {
        if (failure is not null)
        {
            LogFlushFailed(failure, batch.Count, points, FlushAttempts);
            var problem = PhantomException.Unavailable(ProblemTypes.MetricsStoreUnavailable, "ClickHouse is unavailable",
                $"The metric points were not stored ({failure.Message}); send the batch again.");
            batch.ForEach(p => p.Stored.TrySetException(problem));
            return;
        }

        try
        {
            var redis = _redis.GetDatabase();
            await Task.WhenAll(batch.Select(p => redis.StringSetAsync(p.RememberKey, 1, Remembered)));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogNotRemembered(e, batch.Count);
        }

        batch.ForEach(p => p.Stored.TrySetResult());
    }

    private static string RememberKey(Guid tenantId, Guid jobId, string batchId) => $"phantom:metrics-batch:{tenantId:N}:{jobId:N}:{batchId}";

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "ClickHouse refused a shared INSERT of {Batches} metric batches; inserting each tenant's on its own")]
    private partial void LogSplit(Exception exception, int batches);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "A metrics flush of {Batches} batches ({Points} points) failed (up to {Attempts} attempts); its callers were told")]
    private partial void LogFlushFailed(Exception exception, int batches, int points, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis is unavailable: a retried metric batch cannot be recognised and may be stored twice")]
    private partial void LogRetriesUnknown(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Stored {Batches} metric batches but could not remember their ids in Redis; a client retry of one would store it again")]
    private partial void LogNotRemembered(Exception exception, int batches);

    private sealed record Pending(Guid TenantId, Guid JobId, MetricBatch Batch, string RememberKey, TaskCompletionSource Stored);
}
