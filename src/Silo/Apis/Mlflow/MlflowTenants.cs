using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using PhantomMl.Grains;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Silo.Apis.Mlflow;

/// <summary>
/// The tenant of an MLflow call. MLflow's paths name no tenant: the bearer key does (MLFLOW_TRACKING_TOKEN). The key's
/// tenant is asked once (who-am-i) and remembered for a minute per silo, by the key's hash. That memo decides only
/// which tenant's grains a call goes to: each grain still authenticates the key and refuses it if it is revoked or not
/// that tenant's, so a stale entry can never open another tenant's data.
/// </summary>
public sealed class MlflowTenants(IGrainFactory grains) : IDisposable
{
    private static readonly TimeSpan Remembered = TimeSpan.FromMinutes(1);

    private readonly MemoryCache memo = new(new MemoryCacheOptions { SizeLimit = 100_000 });

    /// <summary>The calling key's tenant key (401 without a key, or for a platform key that belongs to no tenant).</summary>
    public async Task<string> OfAsync(HttpContext http)
    {
        // CallContextMiddleware refused calls without a key; the key is in the request context for the grains.
        var key = RequestContext.Get(PhantomMl.Grains.Security.CallContext.ApiKey) as string
            ?? throw PhantomException.Unauthenticated("No API key: set MLFLOW_TRACKING_TOKEN to a tenant API key.");
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        if (memo.TryGetValue(("mlflow-tenant", hash), out string? tenantKey) && tenantKey is not null)
        {
            return tenantKey;
        }

        var caller = await grains.TenantDirectory().WhoAmIAsync();
        tenantKey = caller.TenantKey ?? throw PhantomException.Forbidden("This API key belongs to no tenant; MLflow's API needs a tenant's key.");
        memo.Set(("mlflow-tenant", hash), tenantKey, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = Remembered, Size = 1 });
        return tenantKey;
    }

    /// <inheritdoc />
    public void Dispose() => memo.Dispose();
}
