namespace PhantomMl.Grains.Tenants;

/// <summary>A tenant as the API shows it.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.tenants.TenantView")]
public sealed record TenantView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string TenantKey,
    [property: Id(2)] string Name,
    [property: Id(3)] string Status,
    [property: Id(4)] string SubscriptionTier,
    [property: Id(5)] string IsolationLevel,
    [property: Id(6)] IReadOnlyDictionary<string, long> ResourceQuotas,
    [property: Id(7)] IReadOnlyList<string> ComplianceFrameworks,
    [property: Id(8)] string? DataResidency,
    [property: Id(9)] DateTimeOffset CreatedAt,
    [property: Id(10)] DateTimeOffset UpdatedAt,
    [property: Id(11)] string CreatedBy);

/// <summary>Creates a tenant. Omitted quotas take the subscription tier's defaults.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.tenants.CreateTenant")]
public sealed record CreateTenant(
    [property: Id(0)] string Name,
    [property: Id(1)] string? SubscriptionTier = null,
    [property: Id(2)] string? IsolationLevel = null,
    [property: Id(3)] IReadOnlyDictionary<string, long>? ResourceQuotas = null,
    [property: Id(4)] IReadOnlyList<string>? ComplianceFrameworks = null,
    [property: Id(5)] string? DataResidency = null);

/// <summary>Changes a tenant; null members stay as they are. Quotas given replace those keys only.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.tenants.UpdateTenant")]
public sealed record UpdateTenant(
    [property: Id(0)] string? Name = null,
    [property: Id(1)] string? SubscriptionTier = null,
    [property: Id(2)] string? IsolationLevel = null,
    [property: Id(3)] IReadOnlyDictionary<string, long>? ResourceQuotas = null,
    [property: Id(4)] IReadOnlyList<string>? ComplianceFrameworks = null,
    [property: Id(5)] string? DataResidency = null);

/// <summary>A user of a tenant.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.tenants.TenantUserView")]
public sealed record TenantUserView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string UserId,
    [property: Id(2)] string Email,
    [property: Id(3)] IReadOnlyList<string> Roles,
    [property: Id(4)] IReadOnlyList<string> Permissions,
    [property: Id(5)] string Status,
    [property: Id(6)] bool MfaEnabled,
    [property: Id(7)] DateTimeOffset? LastLoginAt,
    [property: Id(8)] DateTimeOffset CreatedAt);

/// <summary>Adds a user to a tenant. Permissions are granted on top of the roles' permissions.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.tenants.AddTenantUser")]
public sealed record AddTenantUser(
    [property: Id(0)] string UserId,
    [property: Id(1)] string Email,
    [property: Id(2)] IReadOnlyList<string> Roles,
    [property: Id(3)] IReadOnlyList<string>? Permissions = null,
    [property: Id(4)] bool MfaEnabled = false);

/// <summary>Changes a user; null members stay as they are. Status is active or disabled.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.tenants.UpdateTenantUser")]
public sealed record UpdateTenantUser(
    [property: Id(0)] string? Email = null,
    [property: Id(1)] IReadOnlyList<string>? Roles = null,
    [property: Id(2)] IReadOnlyList<string>? Permissions = null,
    [property: Id(3)] string? Status = null,
    [property: Id(4)] bool? MfaEnabled = null);

/// <summary>An API key without its secret.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.tenants.ApiKeyView")]
public sealed record ApiKeyView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string Prefix,
    [property: Id(3)] string UserId,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] DateTimeOffset? ExpiresAt,
    [property: Id(6)] DateTimeOffset? RevokedAt,
    [property: Id(7)] DateTimeOffset? LastUsedAt);

/// <summary>A new API key: the only time its secret is shown. It is stored hashed and cannot be recovered.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.tenants.IssuedApiKey")]
public sealed record IssuedApiKey([property: Id(0)] ApiKeyView Key, [property: Id(1)] string Secret);

/// <summary>Asks for an API key for a tenant user.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.tenants.CreateApiKey")]
public sealed record CreateApiKey([property: Id(0)] string Name, [property: Id(1)] DateTimeOffset? ExpiresAt = null);

/// <summary>
/// One quota: its limit and what the current period has used. <see cref="Kind"/> says how it counts: "gauge" (what
/// exists now), "monthly" (used this calendar month, UTC) or "limit" (a bound on one piece of work or on how many run
/// at once, checked as the work is admitted; <see cref="Used"/> is 0). <see cref="Bounds"/> says what it bounds.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.tenants.QuotaUsage")]
public sealed record QuotaUsage(
    [property: Id(0)] string Resource,
    [property: Id(1)] long Limit,
    [property: Id(2)] long Used,
    [property: Id(3)] DateTimeOffset PeriodStart,
    [property: Id(4)] DateTimeOffset? PeriodEnd,
    [property: Id(5)] string Kind,
    [property: Id(6)] string Bounds);

/// <summary>The authenticated caller, as the platform sees it.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.tenants.CallerView")]
public sealed record CallerView(
    [property: Id(0)] string UserId,
    [property: Id(1)] string? TenantKey,
    [property: Id(2)] IReadOnlyList<string> Roles,
    [property: Id(3)] IReadOnlyList<string> Permissions,
    [property: Id(4)] Guid KeyId);
