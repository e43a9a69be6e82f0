using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using StackExchange.Redis;

namespace PhantomMl.Grains.Security;

/// <summary>
/// The cluster-wide credential epoch: a number that moves every time someone's rights narrow (a key revoked, a user's
/// roles, grants or status changed, a tenant updated or suspended). Its truth is a PostgreSQL sequence, which survives
/// restarts and never goes backwards. A call costs no network round trip to know it:
/// <list type="bullet">
/// <item>Each silo keeps the highest value it knows, read from PostgreSQL every <see cref="Refresh"/> and raised by pushes.</item>
/// <item>A change is pushed to every silo the cluster's membership lists (<see cref="CredentialEpochService"/>) and
/// acknowledged before the change is: an acknowledging silo refuses the old rights from its very next call on.</item>
/// <item>A silo trusts what it knows only while its last PostgreSQL read began less than <see cref="Lease"/> ago. When a
/// silo does not acknowledge (unreachable, paused), the change waits until that lease has run out since the sequence
/// moved: by then the silo has either read the new value or stopped trusting its own, and falls back to reading Redis's
/// copy (or PostgreSQL) on every call, as every silo did before the push existed.</item>
/// </list>
/// Redis's copy only ever moves up (a Lua max), and when Redis has lost it, it is read back from PostgreSQL, so a restart
/// can never make an older epoch, and the callers remembered under it, current again.
/// </summary>
public sealed partial class CredentialEpoch(SecuritySql sql, IConnectionMultiplexer redis, ClusterSecret secret, IServiceProvider services,
    ILogger<CredentialEpoch> logger) : IHostedService, IDisposable
{
    /// <summary>How often each silo reads the epoch from PostgreSQL (which renews its lease).</summary>
    public static readonly TimeSpan Refresh = TimeSpan.FromSeconds(1);

    /// <summary>How long after its last PostgreSQL read began a silo trusts the epoch it knows without asking anyone.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);

    /// <summary>How long a change waits for a silo's acknowledgement before it waits out the lease instead.</summary>
    public static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(2);

    private long _known;
    private long _leaseFrom; // when the last successful read began (a Stopwatch timestamp); 0: never
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

    /// <summary>Whether this silo's lease is current: it may answer the epoch it knows without a round trip.</summary>
    public bool HasLease => Interlocked.Read(ref _leaseFrom) is var from and > 0 && Stopwatch.GetElapsedTime(from) < Lease;

    /// <summary>Raises what this silo knows to at least <paramref name="value"/> (a push, or a read).</summary>
    public void Raise(long value)
    {
        var current = Interlocked.Read(ref _known);
        while (value > current && Interlocked.CompareExchange(ref _known, value, current) != current)
        {
            current = Interlocked.Read(ref _known);
        }
    }

    /// <summary>The current epoch; null when it cannot be known (then no remembered caller may be trusted).</summary>
    public Task<long?> ReadAsync() => HasLease ? Task.FromResult<long?>(Interlocked.Read(ref _known)) : ReadWithoutLeaseAsync();

    /// <summary>The epoch from Redis's copy (or PostgreSQL), for a silo whose lease ran out.</summary>
    private async Task<long?> ReadWithoutLeaseAsync()
    {
        try
        {
            var cached = await redis.GetDatabase().StringGetAsync(Key);
            if (!cached.IsNull)
            {
                return Math.Max((long)cached, Interlocked.Read(ref _known));
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
            Raise(truth);
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
    /// moves first (retried); then the new value is pushed to every silo and copied to Redis. A silo that does not
    /// acknowledge within <see cref="AckTimeout"/> is waited out (<see cref="Lease"/> since the sequence moved).
    /// </summary>
    public async Task AdvanceAsync()
    {
        long next;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                next = await sql.AdvanceCredentialEpochAsync();
                Raise(next);
                break;
            }
            catch (NpgsqlException e) when (attempt < 3)
            {
                LogRetry(e, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt));
            }
        }

        var moved = Stopwatch.GetTimestamp();
        var pushed = PushAsync(next);
        await CopyToRedisAsync(next);
        if (await pushed is { Count: > 0 } silent)
        {
            var wait = Lease - Stopwatch.GetElapsedTime(moved);
            LogWaitingOutLease(string.Join(", ", silent), wait.TotalMilliseconds);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
        }
    }

    /// <summary>
    /// Pushes <paramref name="epoch"/> to every other silo the membership table lists; answers the ones that did not
    /// acknowledge (or "membership" when the table could not be read: then no silo list can be trusted complete).
    /// </summary>
    private async Task<List<string>> PushAsync(long epoch)
    {
        var membership = services.GetRequiredService<IClusterMembershipService>();
        var self = services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        var push = services.GetRequiredService<CredentialEpochPush>();
        var silent = new List<string>();
        try
        {
            // Read from the table, not from gossip: a silo that joined a moment ago must be asked too.
            await membership.Refresh().AsTask().WaitAsync(AckTimeout);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogPushFailed(e, "membership");
            silent.Add("membership");
        }

        // Every silo that may serve calls, or soon will, or still does: one that is joining may have read the sequence just
        // before it moved, and one that is shutting down still answers the calls it has. Only dead silos are left out.
        var silos = membership.CurrentSnapshot.Members.Values
            .Where(member => member.Status is not (SiloStatus.Dead or SiloStatus.None) && !member.SiloAddress.Equals(self))
            .Select(member => member.SiloAddress).ToList();
        var acknowledged = await Task.WhenAll(silos.Select(async silo =>
        {
            try
            {
                await push.RaiseAsync(silo, epoch).WaitAsync(AckTimeout);
                return true;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogPushFailed(e, silo.ToString());
                return false;
            }
        }));
        silent.AddRange(silos.Where((_, i) => !acknowledged[i]).Select(silo => silo.ToString()));
        return silent;
    }

    /// <summary>Copies the value to Redis, where silos without a lease read it (retried; logged when it cannot).</summary>
    private async Task CopyToRedisAsync(long epoch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await redis.GetDatabase().ScriptEvaluateAsync(RaiseScript, [Key], [epoch]);
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                if (attempt == 3)
                {
                    LogNotCopied(e);
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt));
            }
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _refresh = new Timer(_ => _ = RefreshAsync(), null, TimeSpan.Zero, Refresh);
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

    /// <summary>
    /// Reads the truth, which renews this silo's lease from the moment the read began (a value read then is at least what
    /// the sequence held then), and brings Redis's copy up to it when a change did not reach it.
    /// </summary>
    private async Task RefreshAsync()
    {
        var began = Stopwatch.GetTimestamp();
        try
        {
            Raise(await sql.ReadCredentialEpochAsync());
            var from = Interlocked.Read(ref _leaseFrom);
            while (began > from && Interlocked.CompareExchange(ref _leaseFrom, began, from) != from)
            {
                from = Interlocked.Read(ref _leaseFrom);
            }

            await redis.GetDatabase().ScriptEvaluateAsync(RaiseScript, [Key], [Interlocked.Read(ref _known)]);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or NpgsqlException or InvalidOperationException)
        {
            LogRefreshFailed(e); // the next tick tries again; once the lease runs out, calls read Redis's copy
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The credential epoch cannot be read: API keys are checked against PostgreSQL on every call")]
    private partial void LogRedisUnavailable(Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Refreshing the credential epoch from PostgreSQL failed")]
    private partial void LogRefreshFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Moving the credential epoch failed (attempt {Attempt}); retrying")]
    private partial void LogRetry(Exception exception, int attempt);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "A credential change could not be copied to Redis; silos without a lease may accept the old rights until they read PostgreSQL")]
    private partial void LogNotCopied(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pushing the credential epoch to silo {Silo} failed")]
    private partial void LogPushFailed(Exception exception, string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silos {Silos} did not acknowledge a credential change; waiting {Milliseconds} ms for their lease to run out")]
    private partial void LogWaitingOutLease(string silos, double milliseconds);
}
