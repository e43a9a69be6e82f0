using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Models;
using StackExchange.Redis;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// Answers for identical inputs, in Redis, shared by every silo. The key is the tenant, the artifact's SHA-256 (what
/// actually scored), the version label (what the answer says scored) and the SHA-256 of the canonical rows (names
/// sorted, numbers round-trip formatted), so pointing an
/// alias or the active version elsewhere makes its old answers unreachable at once (once the resolution is renewed),
/// without deleting anything. Entries live <see cref="InferenceOptions.ResultCacheTtl"/>. Redis being down only makes
/// every request a miss.
/// </summary>
public sealed partial class PredictionCache(IConnectionMultiplexer redis, IOptions<InferenceOptions> options, ILogger<PredictionCache> logger)
{
    /// <summary>Requests with more rows are not cached (entries stay small).</summary>
    public const int MaxCachedRows = 100;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The cached answer, or null.</summary>
    public async Task<PredictionView?> GetAsync(string tenantKey, ArtifactView artifact, IReadOnlyList<IReadOnlyDictionary<string, double>> rows)
    {
        if (!Cacheable(rows))
        {
            return null;
        }

        try
        {
            var cached = await redis.GetDatabase().StringGetAsync(Key(tenantKey, artifact, rows));
            return cached.IsNullOrEmpty ? null : JsonSerializer.Deserialize<PredictionView>((string)cached!, Json)! with { Cached = true };
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogUnavailable(e);
            return null;
        }
    }

    /// <summary>Remembers an answer.</summary>
    public async Task SetAsync(string tenantKey, ArtifactView artifact, IReadOnlyList<IReadOnlyDictionary<string, double>> rows,
        PredictionView answer)
    {
        if (!Cacheable(rows))
        {
            return;
        }

        try
        {
            await redis.GetDatabase().StringSetAsync(Key(tenantKey, artifact, rows), JsonSerializer.Serialize(answer, Json),
                options.Value.ResultCacheTtl);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogUnavailable(e);
        }
    }

    private bool Cacheable(IReadOnlyList<IReadOnlyDictionary<string, double>> rows) => options.Value.ResultCacheTtl > TimeSpan.Zero
        && rows.Count <= MaxCachedRows;

    private static string Key(string tenantKey, ArtifactView artifact, IReadOnlyList<IReadOnlyDictionary<string, double>> rows)
    {
        var canonical = new StringBuilder();
        foreach (var row in rows)
        {
            foreach (var (name, value) in row.OrderBy(pair => pair.Key, StringComparer.Ordinal))
            {
                canonical.Append(name).Append('=').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append(';');
            }

            canonical.Append('\n');
        }

        var inputs = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())));
        return $"phantom:t:{tenantKey}:prediction:{artifact.Sha256}:{Uri.EscapeDataString(artifact.Version)}:{inputs}";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The prediction cache (Redis) is unavailable; answering without it")]
    private partial void LogUnavailable(Exception exception);
}
