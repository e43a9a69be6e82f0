using System.Collections.Frozen;
using PhantomMl.Grains.Common;

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
/// What the client said about itself, recorded in audit rows. RequestId is the idempotency key of the call and the
/// audit event id of what it changes. <see cref="Connection"/> is set by the silo for a client's call (never by the
/// client): the client's network address cannot be seen by grains, so it is what SDK callers are told apart by.
/// </summary>
public sealed record ClientDetails(string RequestId, string? SessionId, string? IpAddress, string? UserAgent, string? Connection = null)
{
    /// <summary>Reads the details the HTTP front end or the SDK put into the call context, each cut to what its column holds.</summary>
    public static ClientDetails FromCallContext() => new(
        RequestContext.Get(CallContext.RequestId) as string is { Length: > 0 } requestId ? BoundedText.Fit(requestId,
            CallContext.MaxTokenLength)! : Guid.CreateVersion7().ToString(),
        BoundedText.Fit(RequestContext.Get(CallContext.SessionId) as string, CallContext.MaxTokenLength),
        RequestContext.Get(CallContext.ClientAddress) as string is { Length: <= 64 } address ? address : null,
        BoundedText.Fit(RequestContext.Get(CallContext.UserAgent) as string, CallContext.MaxUserAgentLength),
        BoundedText.Fit(RequestContext.Get(CallContext.ClientConnection) as string, CallContext.MaxTokenLength));

    /// <summary>Who failed authentications are counted against: the HTTP client's address, or the SDK client's connection.</summary>
    public string ThrottleKey => IpAddress is { } address ? $"ip:{address}" : Connection is { } connection ? $"sdk:{connection}" : "unknown";
}
