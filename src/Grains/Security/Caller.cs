using System.Collections.Frozen;

namespace PhantomMl.Grains.Security;

/// <summary>An authenticated caller: whose key, which tenant, which permissions, and the client details to audit.</summary>
public sealed record Caller(
    Guid KeyId,
    Guid? TenantId,
    string? TenantKey,
    bool TenantActive,
    Guid? TenantUserId,
    string UserId,
    FrozenSet<string> Roles,
    FrozenSet<string> Permissions,
    ClientDetails Client)
{
    /// <summary>A platform admin acts on every tenant.</summary>
    public bool IsPlatformAdmin => Roles.Contains(Security.Permissions.PlatformAdmin);

    /// <summary>A platform component calling internally, not a user with a key.</summary>
    public bool IsComponent => KeyId == Guid.Empty && UserId.StartsWith("system:", StringComparison.Ordinal);

    /// <summary>Whether the caller holds a permission.</summary>
    public bool Can(string permission) => Permissions.Contains(permission);

    /// <summary>A platform component calling internally (see <see cref="InternalCalls"/>): platform-wide, audited as <c>system:{name}</c>.</summary>
    public static Caller Component(string name, ClientDetails client) =>
        new(Guid.Empty, null, null, true, null, $"system:{name}", new[] { Security.Permissions.PlatformAdmin }.ToFrozenSet(),
            Security.Permissions.All, client);
}

/// <summary>
/// What the client said about itself, recorded in audit rows. RequestId is the idempotency key of the
/// call and the audit event id of what it changes.
/// </summary>
public sealed record ClientDetails(string RequestId, string? SessionId, string? IpAddress, string? UserAgent)
{
    /// <summary>Reads the details the HTTP front end or the SDK put into the call context.</summary>
    public static ClientDetails FromCallContext() => new(
        RequestContext.Get(CallContext.RequestId) as string ?? Guid.CreateVersion7().ToString(),
        RequestContext.Get(CallContext.SessionId) as string,
        RequestContext.Get(CallContext.ClientAddress) as string,
        RequestContext.Get(CallContext.UserAgent) as string);
}
