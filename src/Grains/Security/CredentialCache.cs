using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace PhantomMl.Grains.Security;

/// <summary>
/// Who a presented API key belongs to, remembered by each silo so that a hot path (predictions) does not ask
/// PostgreSQL on every call, without weakening "a revoked key is refused on the very next call, on every silo".
/// Every change that can narrow a caller's rights (revoking a key, changing or disabling a user, suspending or
/// updating a tenant) increments one cluster-wide epoch in Redis after it commits and before it answers; every call
/// reads the epoch (one Redis round trip, pipelined) and trusts a remembered caller only if it was read from
/// PostgreSQL under that same epoch. The epoch is read before the PostgreSQL lookup, so a change that commits during
/// the lookup still invalidates the entry. When Redis cannot be read, nothing is trusted and every call goes to
/// PostgreSQL, as before; when the increment itself fails, entries still expire after <see cref="EntryLifetime"/>.
/// </summary>
public sealed partial class CredentialCache(IConnectionMultiplexer redis, TimeProvider time, ILogger<CredentialCache> logger)
{
    /// <summary>The longest a remembered caller is trusted even if no epoch change reaches this silo.</summary>
    public static readonly TimeSpan EntryLifetime = TimeSpan.FromSeconds(60);

    private const int Capacity = 100_000;
    private static readonly RedisKey EpochKey = "phantom:auth:epoch";
    private readonly ConcurrentDictionary<string, Entry> _callers = new(StringComparer.Ordinal);

    /// <summary>The current epoch, or null when Redis cannot say (then nothing may be trusted).</summary>
    public async Task<long?> ReadEpochAsync()
    {
        try
        {
            var value = await redis.GetDatabase().StringGetAsync(EpochKey);
            return value.IsNull ? 0 : (long)value;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogUnavailable(e);
            return null;
        }
    }

    /// <summary>The caller remembered for <paramref name="keyIdentity"/> under <paramref name="epoch"/>, if still valid.</summary>
    public Caller? Find(string keyIdentity, long? epoch)
    {
        var now = time.GetUtcNow();
        return epoch is { } current && _callers.TryGetValue(keyIdentity, out var entry) && entry.Epoch == current && entry.Until > now
            ? entry.Caller
            : null;
    }

    /// <summary>Remembers a caller read from PostgreSQL under <paramref name="epoch"/> (not at all when it is unknown).</summary>
    public void Remember(string keyIdentity, long? epoch, Caller caller, DateTimeOffset? keyExpiresAt)
    {
        if (epoch is not { } current)
        {
            return;
        }

        if (_callers.Count >= Capacity)
        {
            _callers.Clear();
        }

        var until = time.GetUtcNow() + EntryLifetime;
        _callers[keyIdentity] = new Entry(caller, current, keyExpiresAt is { } expires && expires < until ? expires : until);
    }

    /// <summary>
    /// Makes every silo forget every remembered caller: called after a change to keys, users or tenants commits,
    /// before the change is acknowledged. Retried briefly; if Redis stays unreachable the change still stands and
    /// remembered callers lapse within <see cref="EntryLifetime"/> (logged as an error).
    /// </summary>
    public async Task ForgetAllAsync()
    {
        _callers.Clear();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await redis.GetDatabase().StringIncrementAsync(EpochKey);
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                if (attempt == 3)
                {
                    LogNotPropagated(e, EntryLifetime.TotalSeconds);
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt));
            }
        }
    }

    private sealed record Entry(Caller Caller, long Epoch, DateTimeOffset Until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis is unavailable: API keys are checked against PostgreSQL on every call")]
    private partial void LogUnavailable(Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "A credential change could not be announced through Redis; other silos may accept the old rights for up to {Seconds} s")]
    private partial void LogNotPropagated(Exception exception, double seconds);
}
