using PhantomMl.Grains.Lineage;

namespace PhantomMl.Client;

/// <summary>Data lineage: the same walk as GET /api/v1/tenants/{tenantKey}/lineage.</summary>
public sealed partial class PhantomClient
{
    /// <summary>Walks a tenant's lineage upstream or downstream from one resource (models:read).</summary>
    public Task<LineageTrace> TraceLineageAsync(string tenantKey, LineageQuery query, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Lineage(tenantKey).TraceAsync(query), cancellationToken);
}
