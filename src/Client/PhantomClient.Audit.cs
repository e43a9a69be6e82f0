using PhantomMl.Grains.Audit;

namespace PhantomMl.Client;

/// <summary>The audit trail: the same operations as the audit API under /api/v1/tenants/{tenantKey}/audit.</summary>
public sealed partial class PhantomClient
{
    /// <summary>Queries a tenant's audit trail.</summary>
    public Task<AuditPage> QueryAuditAsync(string tenantKey, AuditQuery query, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AuditLog(tenantKey).QueryAsync(query), cancellationToken);

    /// <summary>Full-text search over a tenant's audit trail.</summary>
    public Task<AuditSearchPage> SearchAuditAsync(string tenantKey, AuditSearchQuery query, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AuditLog(tenantKey).SearchAsync(query), cancellationToken);

    /// <summary>The search backend and how far behind the chain its index is.</summary>
    public Task<AuditSearchStatus> GetAuditSearchStatusAsync(string tenantKey, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AuditLog(tenantKey).GetSearchStatusAsync(), cancellationToken);

    /// <summary>Checks the tenant's hash chain and signed digests.</summary>
    public Task<ChainVerification> VerifyAuditChainAsync(string tenantKey, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AuditLog(tenantKey).VerifyAsync(), cancellationToken);

    /// <summary>The tenant's signed digests, newest first.</summary>
    public Task<IReadOnlyList<AuditDigest>> ListAuditDigestsAsync(string tenantKey, int limit = 100, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AuditLog(tenantKey).ListDigestsAsync(limit), cancellationToken);

    /// <summary>A digest with its chain entries, for checking offline.</summary>
    public Task<AuditDigestBundle> GetAuditDigestBundleAsync(string tenantKey, Guid digestId, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AuditLog(tenantKey).GetDigestBundleAsync(digestId), cancellationToken);

    /// <summary>Signs a digest of the chain now (audit:manage); null when nothing was sealed since the last one.</summary>
    public Task<AuditDigest?> CreateAuditDigestAsync(string tenantKey, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.AuditLog(tenantKey).CreateDigestAsync(), cancellationToken);
}
