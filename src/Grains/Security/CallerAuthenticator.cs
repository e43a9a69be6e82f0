using System.Collections.Frozen;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;

namespace PhantomMl.Grains.Security;

/// <summary>
/// Turns the credential in the call context into a <see cref="Caller"/>: the internal secret of a platform component, or
/// an API key checked against PostgreSQL, or against what this silo read from PostgreSQL under the current credential
/// epoch (<see cref="CredentialCache"/>), so a revoked key is refused on the very next call, on every silo. A known key
/// that is refused (revoked, expired, user disabled) leaves an authentication audit row in its tenant. Failures are
/// counted per key prefix and per client (<see cref="AuthenticationThrottle"/>): past the limit the answer is 429 before
/// any PostgreSQL work.
/// </summary>
public sealed partial class CallerAuthenticator(TenantDatabase database, InternalCalls internalCalls, CredentialCache credentials,
    AuthenticationThrottle throttle, TimeProvider time, ILogger<CallerAuthenticator> logger)
{
    /// <summary>The platform's own tenant, home of platform-admin audit rows.</summary>
    public static readonly Guid PlatformTenantId = Guid.Empty;

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
        Guid keyId;
        Guid? tenantId, tenantUserId;
        string? tenantKey, tenantStatus, userStatus, platformAdminName;
        string userId;
        string[] roles, grants;
        DateTimeOffset? expiresAt;
        bool revoked, found;
        // The reader (and its pooled connection) is disposed exactly once, at the end of this block: Npgsql reuses
        // reader objects per connection, so a second dispose later could close another caller's reader.
        await using (var command = database.CreateCommand("SELECT * FROM phantom_authenticate_api_key(@prefix, @hash)"))
        {
            command.Parameters.AddWithValue("prefix", parsed.Prefix);
            command.Parameters.AddWithValue("hash", parsed.Hash);
            await using var reader = await command.ExecuteReaderAsync();
            found = await reader.ReadAsync();
            keyId = found ? reader.GetGuid(0) : Guid.Empty;
            tenantId = found && !reader.IsDBNull(1) ? reader.GetGuid(1) : null;
            tenantKey = found && !reader.IsDBNull(2) ? reader.GetString(2) : null;
            tenantStatus = found && !reader.IsDBNull(3) ? reader.GetString(3) : null;
            tenantUserId = found && !reader.IsDBNull(4) ? reader.GetGuid(4) : null;
            userStatus = found && !reader.IsDBNull(6) ? reader.GetString(6) : null;
            roles = found && !reader.IsDBNull(7) ? reader.GetFieldValue<string[]>(7) : [];
            grants = found && !reader.IsDBNull(8) ? JsonSerializer.Deserialize<string[]>(reader.GetString(8)) ?? [] : [];
            platformAdminName = found && !reader.IsDBNull(9) ? reader.GetString(9) : null;
            userId = !found ? "" : platformAdminName is null ? reader.GetString(5) : $"platform-admin:{platformAdminName}";
            expiresAt = found && !reader.IsDBNull(10) ? reader.GetFieldValue<DateTimeOffset>(10) : null;
            revoked = found && !reader.IsDBNull(11);
        }

        if (!found)
        {
            await FailAsync(parsed.Prefix, client);
            throw PhantomException.Unauthenticated("The API key is not valid.");
        }

        var refusal = revoked ? "revoked"
            : expiresAt <= time.GetUtcNow() ? "expired"
            : platformAdminName is null && userStatus != "active" ? "user-disabled"
            : platformAdminName is null && tenantStatus == "deleted" ? "tenant-deleted"
            : null;
        if (refusal is not null)
        {
            LogRefused(keyId, refusal);
            await FailAsync(parsed.Prefix, client);
            await AuditRecorder.RecordAloneAsync(database, tenantId ?? PlatformTenantId, userId, client,
                new AuditEvent("authentication", "api-key", keyId.ToString(), "authenticate", AuditEvent.Denied, new { reason = refusal }));
            throw PhantomException.Unauthenticated($"The API key is {refusal.Replace('-', ' ')}.");
        }

        var roleSet = roles.ToFrozenSet();
        var caller = new Caller(keyId, tenantId, tenantKey, tenantStatus is null or "active", tenantUserId, userId, roleSet,
            Permissions.Effective(roleSet, grants), client);
        credentials.Remember(identity, epoch, caller, expiresAt);
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
