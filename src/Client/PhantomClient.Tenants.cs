using PhantomMl.Grains.Tenants;

namespace PhantomMl.Client;

/// <summary>Tenants, users, API keys, quotas and the audit trail: the same operations as /api/v1/tenants.</summary>
public sealed partial class PhantomClient
{
    /// <summary>The caller behind this client's API key.</summary>
    public Task<CallerView> WhoAmIAsync(CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.TenantDirectory().WhoAmIAsync(), cancellationToken);

    /// <summary>Creates a tenant (platform admin).</summary>
    public Task<TenantView> CreateTenantAsync(string tenantKey, CreateTenant command, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Tenant(grains, tenantKey).CreateAsync(command), cancellationToken);

    /// <summary>Lists tenants in key order after <paramref name="after"/> (platform admin).</summary>
    public Task<IReadOnlyList<TenantView>> ListTenantsAsync(string? after = null, int limit = 100, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.TenantDirectory().ListTenantsAsync(after, limit), cancellationToken);

    /// <summary>Reads a tenant.</summary>
    public Task<TenantView> GetTenantAsync(string tenantKey, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Tenant(grains, tenantKey).GetAsync(), cancellationToken);

    /// <summary>Changes a tenant (platform admin).</summary>
    public Task<TenantView> UpdateTenantAsync(string tenantKey, UpdateTenant command, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Tenant(grains, tenantKey).UpdateAsync(command), cancellationToken);

    /// <summary>Suspends a tenant (platform admin).</summary>
    public Task<TenantView> SuspendTenantAsync(string tenantKey, string reason, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Tenant(grains, tenantKey).SuspendAsync(reason), cancellationToken);

    /// <summary>Reactivates a tenant (platform admin).</summary>
    public Task<TenantView> ReactivateTenantAsync(string tenantKey, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Tenant(grains, tenantKey).ReactivateAsync(), cancellationToken);

    /// <summary>Adds a user (tenant admin).</summary>
    public Task<TenantUserView> AddUserAsync(string tenantKey, AddTenantUser command, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Tenant(grains, tenantKey).AddUserAsync(command), cancellationToken);

    /// <summary>Changes a user (tenant admin).</summary>
    public Task<TenantUserView> UpdateUserAsync(string tenantKey, string userId, UpdateTenantUser command,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Tenant(grains, tenantKey).UpdateUserAsync(userId, command), cancellationToken);

    /// <summary>Reads a user.</summary>
    public Task<TenantUserView> GetUserAsync(string tenantKey, string userId, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Tenant(grains, tenantKey).GetUserAsync(userId), cancellationToken);

    /// <summary>Lists a tenant's users.</summary>
    public Task<IReadOnlyList<TenantUserView>> ListUsersAsync(string tenantKey, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Tenant(grains, tenantKey).ListUsersAsync(), cancellationToken);

    /// <summary>Issues an API key for a user; the secret is in the answer only.</summary>
    public Task<IssuedApiKey> CreateApiKeyAsync(string tenantKey, string userId, CreateApiKey command,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Tenant(grains, tenantKey).CreateApiKeyAsync(userId, command), cancellationToken);

    /// <summary>Lists a user's API keys.</summary>
    public Task<IReadOnlyList<ApiKeyView>> ListApiKeysAsync(string tenantKey, string userId, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Tenant(grains, tenantKey).ListApiKeysAsync(userId), cancellationToken);

    /// <summary>Revokes an API key.</summary>
    public Task<ApiKeyView> RevokeApiKeyAsync(string tenantKey, Guid keyId, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Tenant(grains, tenantKey).RevokeApiKeyAsync(keyId), cancellationToken);

    /// <summary>Quota limits and usage.</summary>
    public Task<IReadOnlyList<QuotaUsage>> GetQuotaUsageAsync(string tenantKey, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Tenant(grains, tenantKey).GetQuotaUsageAsync(), cancellationToken);

    private static ITenantGrain Tenant(IGrainFactory grains, string tenantKey) => grains.Tenant(tenantKey);
}
