
using Orleans.Concurrency;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Tenants;

/// <summary>
/// One tenant (key: its tenant key): its settings, users, API keys and quotas. The single activation
/// serialises every change to the tenant, so quota checks hold under any concurrency without a lock.
/// Every method authenticates the caller's API key from the call context; failures are <see cref="PhantomException"/>.
/// The changes interleave only to authorize and queue: the changes waiting together are applied in arrival order in one
/// transaction by <see cref="CommitChangesAsync"/> (group commit), each caller answered as if alone.
/// </summary>
[ClientCallable]
[Alias("phantomml.tenants.ITenantGrain")]
public interface ITenantGrain : IGrainWithStringKey
{
    /// <summary>Creates the tenant (platform admin).</summary>
    [Alias("CreateAsync")] Task<TenantView> CreateAsync(CreateTenant command);

    /// <summary>Reads the tenant.</summary>
    [Alias("GetAsync")] Task<TenantView> GetAsync();

    /// <summary>Changes the tenant's settings (platform admin).</summary>
    [AlwaysInterleave, Alias("UpdateAsync")] Task<TenantView> UpdateAsync(UpdateTenant command);

    /// <summary>Suspends the tenant: its users' keys are refused until it is reactivated (platform admin).</summary>
    [AlwaysInterleave, Alias("SuspendAsync")] Task<TenantView> SuspendAsync(string reason);

    /// <summary>Reactivates a suspended tenant (platform admin).</summary>
    [AlwaysInterleave, Alias("ReactivateAsync")] Task<TenantView> ReactivateAsync();

    /// <summary>Adds a user (tenant admin); counts against the users quota.</summary>
    [AlwaysInterleave, Alias("AddUserAsync")] Task<TenantUserView> AddUserAsync(AddTenantUser command);

    /// <summary>Changes a user's email, roles, permissions, status or MFA flag (tenant admin).</summary>
    [AlwaysInterleave, Alias("UpdateUserAsync")] Task<TenantUserView> UpdateUserAsync(string userId, UpdateTenantUser command);

    /// <summary>Reads one user.</summary>
    [Alias("GetUserAsync")] Task<TenantUserView> GetUserAsync(string userId);

    /// <summary>Lists the tenant's users.</summary>
    [Alias("ListUsersAsync")] Task<IReadOnlyList<TenantUserView>> ListUsersAsync();

    /// <summary>Issues an API key for a user (tenant admin, or the user for themself). The secret is in the answer only.</summary>
    [AlwaysInterleave, Alias("CreateApiKeyAsync")] Task<IssuedApiKey> CreateApiKeyAsync(string userId, CreateApiKey command);

    /// <summary>Lists a user's API keys, without secrets.</summary>
    [Alias("ListApiKeysAsync")] Task<IReadOnlyList<ApiKeyView>> ListApiKeysAsync(string userId);

    /// <summary>Revokes an API key at once (tenant admin, or the key's own user).</summary>
    [AlwaysInterleave, Alias("RevokeApiKeyAsync")] Task<ApiKeyView> RevokeApiKeyAsync(Guid keyId);

    /// <summary>
    /// Commits the queued changes: the activation's call to itself, ordinary (not interleaving), so a batch never
    /// overlaps another call.
    /// </summary>
    [SiloOnly, Alias("CommitChangesAsync")] Task CommitChangesAsync();

    /// <summary>Limits and current usage of every quota.</summary>
    [Alias("GetQuotaUsageAsync")] Task<IReadOnlyList<QuotaUsage>> GetQuotaUsageAsync();
}

/// <summary>Cross-tenant entry points: listing tenants, and telling callers who they are.</summary>
[ClientCallable]
[Alias("phantomml.tenants.ITenantDirectoryGrain")]
public interface ITenantDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Tenants in key order after <paramref name="after"/> (platform admin).</summary>
    [Alias("ListTenantsAsync")] Task<IReadOnlyList<TenantView>> ListTenantsAsync(string? after, int limit);

    /// <summary>The authenticated caller.</summary>
    [Alias("WhoAmIAsync")] Task<CallerView> WhoAmIAsync();
}
