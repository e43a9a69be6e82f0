using System.Collections.Frozen;
using Microsoft.Extensions.Logging;

namespace PhantomMl.Grains.Security;

/// <summary>
/// Turns the credential in the call context into a <see cref="Caller"/>: the internal secret of a platform component, or
/// an API key checked against PostgreSQL, or against what this silo read from PostgreSQL under the current credential
/// epoch (<see cref="CredentialCache"/>), so a revoked key is refused on the very next call, on every silo. A known key
/// that is refused (revoked, expired, user disabled) leaves an authentication audit row in its tenant. Failures are
/// counted per key prefix and per client (<see cref="AuthenticationThrottle"/>): past the limit the answer is 429 before
/// any PostgreSQL work.
/// </summary>
public sealed partial class CallerAuthenticator(SecuritySql sql, InternalCalls internalCalls, CredentialCache credentials,
    AuthenticationThrottle throttle, IAccessAudit audit, TimeProvider time, ILogger<CallerAuthenticator> logger)
{
    /// <summary>Authenticates the credential the current call carries (once per call: the gate's answer is reused).</summary>
    public async Task<Caller> AuthenticateAsync()
    {
        if (AuthenticatedCall.Caller is { } authenticated)
        {
            return authenticated;
        }

        var client = ClientDetails.FromCallContext();
        if (RequestContext.Get(CallContext.InternalSecret) is string secret)
        {
            if (internalCalls.IsInternal(secret))
            {
                return Caller.Component(RequestContext.Get(CallContext.Component) as string ?? "unknown", client);
            }

            await FailAsync(null, client);
            throw PhantomException.Unauthenticated("The internal call credential is not valid.");
        }

        return await AuthenticateAsync(RequestContext.Get(CallContext.ApiKey) as string, client);
    }

    /// <summary>Authenticates a presented key.</summary>
    public async Task<Caller> AuthenticateAsync(string? presentedKey, ClientDetails client)
    {
        if (string.IsNullOrEmpty(presentedKey))
        {
            await FailAsync(null, client);
            throw PhantomException.Unauthenticated("No API key: send 'Authorization: Bearer <key>' (HTTP) or set PhantomClientOptions.ApiKey (SDK).");
        }

        if (ApiKeySecret.Parse(presentedKey) is not { } parsed)
        {
            await FailAsync(null, client);
            throw PhantomException.Unauthenticated("The API key is not valid.");
        }

        var identity = $"{parsed.Prefix}:{Convert.ToHexString(parsed.Hash)}";
        var epoch = await credentials.ReadEpochAsync();
        if (credentials.Find(identity, epoch) is { } known)
        {
            return known with { Client = client };
        }

        // Only a key that must be looked up in PostgreSQL is throttled: a remembered caller pays nothing for it.
        await throttle.CheckAsync(parsed.Prefix, client.ThrottleKey);
        if (await sql.FindApiKeyAsync(parsed.Prefix, parsed.Hash) is not { } key)
        {
            await FailAsync(parsed.Prefix, client);
            throw PhantomException.Unauthenticated("The API key is not valid.");
        }

        var refusal = key.Revoked ? "revoked"
            : key.ExpiresAt <= time.GetUtcNow() ? "expired"
            : key.PlatformAdminName is null && key.UserStatus != "active" ? "user-disabled"
            : key.PlatformAdminName is null && key.TenantStatus == "deleted" ? "tenant-deleted"
            : null;
        if (refusal is not null)
        {
            LogRefused(key.KeyId, refusal);
            await FailAsync(parsed.Prefix, client);
            await audit.RecordKeyRefusalAsync(key.TenantId ?? PlatformTenant.Id, key.UserId, client, key.KeyId, refusal);
            throw PhantomException.Unauthenticated($"The API key is {refusal.Replace('-', ' ')}.");
        }

        var roles = key.Roles.ToFrozenSet();
        var caller = new Caller(key.KeyId, key.TenantId, key.TenantKey, key.TenantStatus is null or "active", key.TenantUserId, key.UserId, roles,
            Permissions.Effective(roles, key.Grants), client);
        credentials.Remember(identity, epoch, caller, key.ExpiresAt);
        return caller;
    }

    /// <summary>Counts a failure; when the client or key prefix failed too often already, answers 429 instead of 401.</summary>
    private async Task FailAsync(string? prefix, ClientDetails client)
    {
        await throttle.RecordFailureAsync(prefix, client.ThrottleKey);
        await throttle.CheckAsync(prefix, client.ThrottleKey, afterFailure: true);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused API key {KeyId}: {Reason}")]
    private partial void LogRefused(Guid keyId, string reason);
}
