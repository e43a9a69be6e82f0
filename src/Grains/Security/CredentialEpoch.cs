using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using StackExchange.Redis;

namespace PhantomMl.Grains.Security;

/// <summary>
/// The cluster-wide credential epoch: a number that moves every time someone's rights narrow (a key revoked, a user's
/// roles, grants or status changed, a tenant updated or suspended). Its truth is a PostgreSQL sequence, which survives
/// restarts and never goes backwards; Redis holds a copy so that a call costs one Redis read, not a PostgreSQL one.
/// The copy only ever moves up (a Lua max), and when Redis has lost it (a restart of a Redis that keeps nothing on
/// disk) it is read back from PostgreSQL, so a restart can never make an older epoch, and the callers remembered
/// under it, current again. Each silo also keeps a floor: the highest value it read from PostgreSQL, refreshed every
/// <see cref="FloorRefresh"/>, and the epoch it answers is never below it. So when a change could not be copied to
/// Redis (Redis timing out), a stale copy cannot revive older callers for longer than that.
/// </summary>
public sealed partial class CredentialEpoch(SecuritySql sql, IConnectionMultiplexer redis, ClusterSecret secret, ILogger<CredentialEpoch> logger)
    : IHostedService, IDisposable
{
    /// <summary>How often each silo reads the epoch from PostgreSQL, to catch a change Redis did not receive.</summary>
    public static readonly TimeSpan FloorRefresh = TimeSpan.FromSeconds(5);

    private long _floor;
    private Timer? _refresh;

    private RedisKey? _key;

    /// <summary>
    /// The copy's key names the deployment whose sequence it mirrors: one Redis may serve several deployments, and
    /// their copies must not meet.
    /// </summary>
    private RedisKey Key => _key ??= $"phantom:auth:epoch:{secret.DeploymentTag}";

    // Sets the key to ARGV[1] unless it holds more already; returns what it holds after.
    private const string RaiseScript = """
        local current = tonumber(redis.call('GET', KEYS[1]) or '0')
        local proposed = tonumber(ARGV[1])
        if proposed > current then
            redis.call('SET', KEYS[1], ARGV[1])
            return proposed
        end
        return current
        """;

    /// <summary>The current epoch; null when it cannot be known (then no remembered caller may be trusted).</summary>
    public async Task<long?> ReadAsync()
    {
        try
        {
            var cached = await redis.GetDatabase().StringGetAsync(Key);
            if (!cached.IsNull)
            {
                return Math.Max((long)cached, Interlocked.Read(ref _floor));
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogRedisUnavailable(e);
            return null;
        }

        try
        {
            var truth = await sql.ReadCredentialEpochAsync();
            RaiseFloor(truth);
            return Math.Max((long)await redis.GetDatabase().ScriptEvaluateAsync(RaiseScript, [Key], [truth]), truth);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or NpgsqlException)
        {
            LogRedisUnavailable(e);
            return null;
        }
    }

    /// <summary>
    /// Moves the epoch on: called after a narrowing change commits and before it is acknowledged. PostgreSQL's sequence
    /// moves first (retried); if Redis cannot take the new value, silos that can still read the old copy catch up within
    /// <see cref="FloorRefresh"/> (logged as an error).
    /// </summary>
    public async Task AdvanceAsync()
    {
        long next = 0;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                next = await sql.AdvanceCredentialEpochAsync();
                RaiseFloor(next);
                break;
            }
            catch (NpgsqlException e) when (attempt < 3)
            {
                LogRetry(e, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt));
            }
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await redis.GetDatabase().ScriptEvaluateAsync(RaiseScript, [Key], [next]);
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                if (attempt == 3)
                {
                    LogNotPropagated(e, FloorRefresh.TotalSeconds);
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt));
            }
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _refresh = new Timer(_ => _ = RefreshFloorAsync(), null, FloorRefresh, FloorRefresh);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _refresh?.Change(Timeout.Infinite, Timeout.Infinite);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public void Dispose() => _refresh?.Dispose();

    /// <summary>Reads the truth, and brings Redis's copy up to it when a change did not reach it.</summary>
    private async Task RefreshFloorAsync()
    {
        try
        {
            var truth = await sql.ReadCredentialEpochAsync();
            RaiseFloor(truth);
            await redis.GetDatabase().ScriptEvaluateAsync(RaiseScript, [Key], [truth]);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or NpgsqlException or InvalidOperationException)
        {
            LogRefreshFailed(e); // the next tick tries again; calls meanwhile trust what they can read
        }
    }

    private void RaiseFloor(long value)
    {
        var current = Interlocked.Read(ref _floor);
        while (value > current && Interlocked.CompareExchange(ref _floor, value, current) != current)
        {
            current = Interlocked.Read(ref _floor);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The credential epoch cannot be read: API keys are checked against PostgreSQL on every call")]
    private partial void LogRedisUnavailable(Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Refreshing the credential epoch's floor failed")]
    private partial void LogRefreshFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Moving the credential epoch failed (attempt {Attempt}); retrying")]
    private partial void LogRetry(Exception exception, int attempt);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "A credential change could not be copied to Redis; other silos may accept the old rights for up to {Seconds} s")]
    private partial void LogNotPropagated(Exception exception, double seconds);
}
