using System.Text.Json;
using Microsoft.Extensions.Logging;
using PhantomMl.Grains.Models;
using StackExchange.Redis;

namespace PhantomMl.Grains.Adapters.Redis;

/// <summary>
/// Model views in Redis under <c>phantom:t:{tenant}:model:{name}</c> for ten minutes. Redis failures (timeouts included) are
/// logged and treated as misses: the platform serves without its cache.
/// </summary>
public sealed partial class RedisModelCache(IConnectionMultiplexer redis, ILogger<RedisModelCache> logger) : IModelCache
{
    private static readonly TimeSpan TimeToLive = TimeSpan.FromMinutes(10);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <inheritdoc />
    public async Task<ModelView?> GetAsync(Guid tenantId, string modelName)
    {
        try
        {
            var value = await redis.GetDatabase().StringGetAsync(Key(tenantId, modelName));
            return value.HasValue ? JsonSerializer.Deserialize<ModelView>(value.ToString(), Json) : null;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogUnavailable(e, "read");
            return null;
        }
    }

    /// <inheritdoc />
    public async Task SetAsync(Guid tenantId, ModelView model)
    {
        try
        {
            await redis.GetDatabase().StringSetAsync(Key(tenantId, model.Name), JsonSerializer.Serialize(model, Json), TimeToLive);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogUnavailable(e, "write");
        }
    }

    /// <inheritdoc />
    public async Task InvalidateAsync(Guid tenantId, string modelName)
    {
        try
        {
            await redis.GetDatabase().KeyDeleteAsync(Key(tenantId, modelName));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // A key that could not be deleted may be stale for up to its time to live; say so loudly.
            LogUnavailable(e, "invalidate");
        }
    }

    private static string Key(Guid tenantId, string modelName) => $"phantom:t:{tenantId:N}:model:{modelName}";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis model cache unavailable ({Operation})")]
    private partial void LogUnavailable(Exception exception, string operation);
}
