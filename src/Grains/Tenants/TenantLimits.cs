using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Common;

namespace PhantomMl.Grains.Tenants;

/// <summary>
/// A tenant's effective quota limits for hot paths (predictions, metric logs), read from PostgreSQL and remembered by
/// each silo for <see cref="Lifetime"/>: a changed limit applies everywhere within that time. What counts usage (the
/// conditional UPDATE of tenant_resource_usage) always reads the limit afresh, so no usage ever passes a limit; only
/// the per-request bounds (rows per request, span of a batch, threads) can lag a change by this much.
/// </summary>
public sealed class TenantLimits(TenantDatabase database, TimeProvider time, TenantSql tenantSql)
{
    /// <summary>How long a silo trusts the limits it read.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

    private readonly ExpiringMemo<Guid, IReadOnlyDictionary<string, long>> _limits = new(capacity: 100_000);

    /// <summary>Every quota's limit for the tenant.</summary>
    public async ValueTask<IReadOnlyDictionary<string, long>> GetAsync(Guid tenantId)
    {
        var now = time.GetUtcNow();
        if (_limits.TryGet(tenantId, now, out var known))
        {
            return known;
        }

        var limits = (await database.InTenantAsync(tenantId,
            (connection, transaction) => tenantSql.LoadAsync(connection, transaction)))?.EffectiveQuotas
            ?? throw PhantomException.NotFound("tenant", tenantId.ToString());
        _limits.Set(tenantId, limits, now + Lifetime);
        return limits;
    }

    /// <summary>One quota's limit for the tenant.</summary>
    public async ValueTask<long> GetAsync(Guid tenantId, string quota) => (await GetAsync(tenantId))[quota];
}
