using System.Collections.Frozen;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;

namespace PhantomMl.Grains.Security;

/// <summary>
/// Turns the API key in the call context into a <see cref="Caller"/>, on every call, against PostgreSQL, or against
/// what this silo read from PostgreSQL under the current credential epoch (<see cref="CredentialCache"/>): a revoked
/// key is refused on the very next call, on every silo. A known key that is refused (revoked, expired, user
/// disabled) leaves an authentication audit row in its tenant.
/// </summary>
public sealed partial class CallerAuthenticator(TenantDatabase database, InternalCalls internalCalls, CredentialCache credentials, TimeProvider time,
    ILogger<CallerAuthenticator> logger)
{
    /// <summary>The platform's own tenant, home of platform-admin audit rows.</summary>
    public static readonly Guid PlatformTenantId = Guid.Empty;

    /// <summary>Authenticates the key the current call carries, or the internal secret of a platform component.</summary>
    public async Task<Caller> AuthenticateAsync()
    {
        if (RequestContext.Get(CallContext.InternalSecret) is string secret)
        {
            return await internalCalls.IsInternalAsync(secret)
                ? Caller.Component(RequestContext.Get(CallContext.Component) as string ?? "unknown", ClientDetails.FromCallContext())
                : throw PhantomException.Unauthenticated("The internal call credential is not valid.");
        }

        return await AuthenticateAsync(RequestContext.Get(CallContext.ApiKey) as string, ClientDetails.FromCallContext());
    }

    /// <summary>Authenticates a presented key.</summary>
    public async Task<Caller> AuthenticateAsync(string? presentedKey, ClientDetails client)
    {
        if (string.IsNullOrEmpty(presentedKey))
        {
            throw PhantomException.Unauthenticated("No API key: send 'Authorization: Bearer <key>' (HTTP) or set PhantomClientOptions.ApiKey (SDK).");
        }

        var parsed = ApiKeySecret.Parse(presentedKey) ?? throw PhantomException.Unauthenticated("The API key is not valid.");
        var identity = $"{parsed.Prefix}:{Convert.ToHexString(parsed.Hash)}";
        var epoch = await credentials.ReadEpochAsync();
        if (credentials.Find(identity, epoch) is { } known)
        {
            return known with { Client = client };
        }

        Guid keyId;
        Guid? tenantId, tenantUserId;
        string? tenantKey, tenantStatus, userStatus, platformAdminName;
        string userId;
        string[] roles, grants;
        DateTimeOffset? expiresAt;
        bool revoked;
        // The reader (and its pooled connection) is disposed exactly once, at the end of this block: Npgsql reuses
        // reader objects per connection, so a second dispose later could close another caller's reader.
        await using (var command = database.CreateCommand("SELECT * FROM phantom_authenticate_api_key(@prefix, @hash)"))
        {
            command.Parameters.AddWithValue("prefix", parsed.Prefix);
            command.Parameters.AddWithValue("hash", parsed.Hash);
            await using var reader = await command.ExecuteReaderAsync();
            if (!await reader.ReadAsync())
            {
                throw PhantomException.Unauthenticated("The API key is not valid.");
            }

            keyId = reader.GetGuid(0);
            tenantId = reader.IsDBNull(1) ? null : reader.GetGuid(1);
            tenantKey = reader.IsDBNull(2) ? null : reader.GetString(2);
            tenantStatus = reader.IsDBNull(3) ? null : reader.GetString(3);
            tenantUserId = reader.IsDBNull(4) ? null : reader.GetGuid(4);
            userStatus = reader.IsDBNull(6) ? null : reader.GetString(6);
            roles = reader.IsDBNull(7) ? [] : reader.GetFieldValue<string[]>(7);
            grants = reader.IsDBNull(8) ? [] : JsonSerializer.Deserialize<string[]>(reader.GetString(8)) ?? [];
            platformAdminName = reader.IsDBNull(9) ? null : reader.GetString(9);
            userId = platformAdminName is null ? reader.GetString(5) : $"platform-admin:{platformAdminName}";
            expiresAt = reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10);
            revoked = !reader.IsDBNull(11);
        }

        var refusal = revoked ? "revoked"
            : expiresAt <= time.GetUtcNow() ? "expired"
            : platformAdminName is null && userStatus != "active" ? "user-disabled"
            : platformAdminName is null && tenantStatus == "deleted" ? "tenant-deleted"
            : null;
        if (refusal is not null)
        {
            LogRefused(keyId, refusal);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused API key {KeyId}: {Reason}")]
    private partial void LogRefused(Guid keyId, string reason);
}
