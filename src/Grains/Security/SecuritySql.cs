using System.Text.Json;
using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Security;

/// <summary>
/// The SQL of access control. Its lookups run before any tenant is known, so they go through the security-definer
/// functions owned by phantom_security (the application role sees no tenant row outside a tenant's unit of work).
/// </summary>
public sealed class SecuritySql(TenantDatabase database)
{
    /// <summary>The key with this prefix and secret hash, with its tenant and user; null when there is none.</summary>
    public async Task<ApiKeyRecord?> FindApiKeyAsync(string prefix, byte[] secretHash)
    {
        // The reader (and its pooled connection) is disposed exactly once, at the end of this method: Npgsql reuses
        // reader objects per connection, so a second dispose later could close another caller's reader.
        await using var command = database.CreateCommand("SELECT * FROM phantom_authenticate_api_key(@prefix, @hash)");
        command.Parameters.AddWithValue("prefix", prefix);
        command.Parameters.AddWithValue("hash", secretHash);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return null;
        }

        var platformAdminName = reader.IsDBNull(9) ? null : reader.GetString(9);
        return new ApiKeyRecord(
            KeyId: reader.GetGuid(0),
            TenantId: reader.IsDBNull(1) ? null : reader.GetGuid(1),
            TenantKey: reader.IsDBNull(2) ? null : reader.GetString(2),
            TenantStatus: reader.IsDBNull(3) ? null : reader.GetString(3),
            TenantUserId: reader.IsDBNull(4) ? null : reader.GetGuid(4),
            UserId: platformAdminName is null ? reader.GetString(5) : $"platform-admin:{platformAdminName}",
            UserStatus: reader.IsDBNull(6) ? null : reader.GetString(6),
            Roles: reader.IsDBNull(7) ? [] : reader.GetFieldValue<string[]>(7),
            Grants: reader.IsDBNull(8) ? [] : JsonSerializer.Deserialize<string[]>(reader.GetString(8)) ?? [],
            PlatformAdminName: platformAdminName,
            ExpiresAt: reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10),
            Revoked: !reader.IsDBNull(11));
    }

    /// <summary>The id of the tenant with this key, before any tenant context exists; null when there is none.</summary>
    public async Task<Guid?> ResolveTenantAsync(string tenantKey, CancellationToken cancellationToken = default)
    {
        await using var command = database.CreateCommand("SELECT id FROM phantom_resolve_tenant(@key)");
        command.Parameters.AddWithValue("key", tenantKey);
        return await command.ExecuteScalarAsync(cancellationToken) as Guid?;
    }

    /// <summary>The cluster's internal secret (cluster_secrets, readable by the silos' role only); null when it is missing.</summary>
    public async Task<string?> ReadClusterSecretAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT secret FROM cluster_secrets WHERE name = 'internal-calls'");
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    /// <summary>Moves the credential epoch on and returns its new value.</summary>
    public async Task<long> AdvanceCredentialEpochAsync()
    {
        await using var command = database.CreateCommand("SELECT nextval('credential_epoch')");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The credential epoch's current value.</summary>
    public async Task<long> ReadCredentialEpochAsync()
    {
        await using var command = database.CreateCommand("SELECT last_value FROM credential_epoch");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Whether the key is an active platform admin's (as the schema owner, <paramref name="owner"/>).</summary>
    public async Task<bool> IsActivePlatformKeyAsync(NpgsqlDataSource owner, string prefix, byte[] secretHash, CancellationToken cancellationToken)
    {
        await using var command = owner.CreateCommand("""
            SELECT count(*) FROM api_keys
             WHERE prefix = @prefix AND secret_hash = @hash AND platform_admin_name IS NOT NULL
               AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
            """);
        command.Parameters.AddWithValue("prefix", prefix);
        command.Parameters.AddWithValue("hash", secretHash);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))! == 1;
    }

    /// <summary>Issues a platform admin's key (as the schema owner, <paramref name="owner"/>: only it may hold keys without a tenant).</summary>
    public async Task InsertPlatformAdminKeyAsync(NpgsqlDataSource owner, string adminName, string prefix, byte[] secretHash,
        CancellationToken cancellationToken)
    {
        await using var command = owner.CreateCommand("""
            INSERT INTO api_keys (id, platform_admin_name, name, prefix, secret_hash, created_by)
            VALUES (@id, @admin, 'bootstrap', @prefix, @hash, 'bootstrap')
            """);
        command.Parameters.AddWithValue("id", Guid.CreateVersion7());
        command.Parameters.AddWithValue("admin", adminName);
        command.Parameters.AddWithValue("prefix", prefix);
        command.Parameters.AddWithValue("hash", secretHash);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>An API key as PostgreSQL knows it: its owner, and what may make it unusable.</summary>
public sealed record ApiKeyRecord(
    Guid KeyId,
    Guid? TenantId,
    string? TenantKey,
    string? TenantStatus,
    Guid? TenantUserId,
    string UserId,
    string? UserStatus,
    string[] Roles,
    string[] Grants,
    string? PlatformAdminName,
    DateTimeOffset? ExpiresAt,
    bool Revoked);
