using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace PhantomMl.Grains.Security;

/// <summary>
/// Counts failed authentications per key prefix and per client, cluster-wide in Redis (fixed windows of
/// <see cref="AuthenticationThrottleOptions.FailedAuthenticationWindow"/>), and refuses with 429 and a retry-after once
/// either count passes its limit, until the window ends. Only failures cost a Redis round trip, and the check runs only
/// where a key would otherwise be looked up in PostgreSQL, so a remembered caller pays nothing. When Redis is
/// unreachable the counts fall back to this silo's memory: the limit then holds per silo.
/// </summary>
public sealed partial class AuthenticationThrottle(IConnectionMultiplexer redis, ClusterSecret deployment,
    IOptions<AuthenticationThrottleOptions> options, TimeProvider time, ILogger<AuthenticationThrottle> logger)
{
    private readonly ConcurrentDictionary<string, (long Window, int Count)> _local = new(StringComparer.Ordinal);

    /// <summary>
    /// Throws 429 when <paramref name="prefix"/> or <paramref name="client"/> failed too often in the current window: before
    /// an attempt, once the limit is reached; right after a failure (<paramref name="afterFailure"/>), once it is passed, so
    /// exactly the limit's number of failures is answered 401.
    /// </summary>
    public async Task CheckAsync(string? prefix, string client, bool afterFailure = false)
    {
        var (window, retryAfter) = Window();
        var keys = Keys(prefix, client, window);
        var counts = await CountsAsync(keys);
        var settings = options.Value;
        var allowance = afterFailure ? 1 : 0;
        if (prefix is not null && counts[0] >= settings.FailuresPerKeyPrefix + allowance)
        {
            throw PhantomException.TooManyFailedAuthentications("API key", retryAfter);
        }

        if (counts[^1] >= settings.FailuresPerClient + allowance)
        {
            throw PhantomException.TooManyFailedAuthentications("client", retryAfter);
        }
    }

    /// <summary>Counts one failed authentication of <paramref name="prefix"/> (when the key had one) and <paramref name="client"/>.</summary>
    public async Task RecordFailureAsync(string? prefix, string client)
    {
        var (window, _) = Window();
        var keys = Keys(prefix, client, window);
        var lifetime = options.Value.FailedAuthenticationWindow * 2;
        try
        {
            var database = redis.GetDatabase();
            var batch = database.CreateBatch();
            var increments = keys.Select(key => batch.StringIncrementAsync(key)).ToArray();
            var expiries = keys.Select(key => batch.KeyExpireAsync(key, lifetime)).ToArray();
            batch.Execute();
            await Task.WhenAll(increments.Cast<Task>().Concat(expiries));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogLocal(e);
            foreach (var key in keys)
            {
                _local.AddOrUpdate(key.ToString(), _ => (window, 1), (_, entry) => entry.Window == window ? (window, entry.Count + 1) : (window, 1));
            }
        }
    }

    private async Task<long[]> CountsAsync(RedisKey[] keys)
    {
        try
        {
            var values = await redis.GetDatabase().StringGetAsync(keys);
            return [.. values.Select((value, i) => Math.Max(value.IsNull ? 0 : (long)value, LocalCount(keys[i])))];
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogLocal(e);
            return [.. keys.Select(LocalCount)];
        }
    }

    private long LocalCount(RedisKey key) => _local.TryGetValue(key.ToString(), out var entry) && entry.Window == Window().Index ? entry.Count : 0;

    private (long Index, TimeSpan RetryAfter) Window()
    {
        var length = options.Value.FailedAuthenticationWindow.Ticks;
        var now = time.GetUtcNow().UtcTicks;
        var index = now / length;
        return (index, TimeSpan.FromTicks(((index + 1) * length) - now));
    }

    // Per deployment: one Redis may serve several, and a prefix or address failing in one must not lock out another.
    private RedisKey[] Keys(string? prefix, string client, long window) => prefix is null
        ? [$"phantom:auth-failures:{deployment.DeploymentTag}:client:{client}:{window}"]
        : [$"phantom:auth-failures:{deployment.DeploymentTag}:prefix:{prefix}:{window}",
            $"phantom:auth-failures:{deployment.DeploymentTag}:client:{client}:{window}"];

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis is unavailable: failed authentications are counted by this silo only")]
    private partial void LogLocal(Exception exception);
}
