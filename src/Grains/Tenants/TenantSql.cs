using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Tenants;

/// <summary>
/// The SQL of tenants, tenant users, API keys and quota usage. Every method but <see cref="ListTenantsAsync"/> runs inside
/// a unit of work of <see cref="TenantDatabase"/>, so row-level security scopes it to one tenant.
/// </summary>
public sealed class TenantSql(TenantDatabase database)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The end of a gauge's single period.</summary>
    private static readonly DateTimeOffset EndOfTime = new(9999, 12, 31, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The columns <see cref="ReadTenant"/> expects, in order.</summary>
    private const string TenantColumns = """
        id, tenant_key, name, status::text, subscription_tier, isolation_level::text, resource_quotas,
        coalesce(compliance_frameworks, '{}'), data_residency, created_at, updated_at, created_by
        """;

    /// <summary>A page of every tenant, by key after <paramref name="after"/> (a platform admin's listing, across tenants).</summary>
    public async Task<List<TenantView>> ListTenantsAsync(string? after, int limit)
    {
        await using var command = database.CreateCommand($"SELECT {TenantColumns} FROM phantom_list_tenants(@after, @limit)");
        command.Parameters.AddWithValue("after", (object?)after ?? DBNull.Value);
        command.Parameters.AddWithValue("limit", limit);
        var tenants = new List<TenantView>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            tenants.Add(ReadTenant(reader).ToView());
        }

        return tenants;
    }

    /// <summary>The tenant of the current unit of work (row-level security shows only that one).</summary>
    public async Task<TenantRecord?> LoadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        await using var command = new NpgsqlCommand($"SELECT {TenantColumns} FROM tenants", connection, transaction);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? ReadTenant(reader) : null;
    }

    /// <summary>
    /// Refuses (400) a tenant whose own audit_retention_days is shorter than its compliance frameworks require
    /// (audit_framework_rules, migration 0017): a tenant cannot keep its audit trail for less than its frameworks demand.
    /// </summary>
    public static async Task CheckAuditRetentionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, TenantRecord tenant)
    {
        if (!tenant.QuotaOverrides.TryGetValue(Quotas.AuditRetentionDays, out var days))
        {
            return;
        }

        await using var command = new NpgsqlCommand("""
            SELECT framework, ceil(extract(epoch FROM minimum_retention) / 86400)::bigint FROM audit_framework_rules
             WHERE framework = ANY (@frameworks) ORDER BY minimum_retention DESC LIMIT 1
            """, connection, transaction);
        command.Parameters.AddWithValue("frameworks", tenant.ComplianceFrameworks.ToArray());
        await using var reader = await command.ExecuteReaderAsync();
        if (await reader.ReadAsync() && reader.GetInt64(1) > days)
        {
            throw PhantomException.Invalid(
                $"{Quotas.AuditRetentionDays} is {days} days, but {reader.GetString(0)} requires at least {reader.GetInt64(1)} days.", "resourceQuotas");
        }
    }

    /// <summary>Reads a row selected with <see cref="TenantColumns"/>.</summary>
    private static TenantRecord ReadTenant(NpgsqlDataReader reader) =>
        new(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
            reader.GetString(5), JsonSerializer.Deserialize<Dictionary<string, long>>(reader.GetString(6), Json) ?? [],
            reader.GetFieldValue<string[]>(7), reader.IsDBNull(8) ? null : reader.GetString(8),
            reader.GetFieldValue<DateTimeOffset>(9), reader.GetFieldValue<DateTimeOffset>(10), reader.GetString(11));

    public async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, TenantRecord tenant)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO tenants (id, tenant_key, name, status, subscription_tier, isolation_level, resource_quotas,
                                 compliance_frameworks, data_residency, created_at, updated_at, created_by)
            VALUES (@id, @key, @name, @status::tenant_status_enum, @tier, @isolation::isolation_level_enum, @quotas,
                    @frameworks, @residency, @created, @updated, @createdBy)
            """, connection, transaction);
        AddTenantParameters(command, tenant);
        command.Parameters.AddWithValue("key", tenant.Key);
        command.Parameters.AddWithValue("created", tenant.CreatedAt);
        command.Parameters.AddWithValue("createdBy", tenant.CreatedBy);
        await command.ExecuteNonQueryAsync();
    }

    public async Task UpdateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, TenantRecord tenant)
    {
        await using var command = new NpgsqlCommand("""
            UPDATE tenants SET name = @name, status = @status::tenant_status_enum, subscription_tier = @tier,
                   isolation_level = @isolation::isolation_level_enum, resource_quotas = @quotas, compliance_frameworks = @frameworks,
                   data_residency = @residency, updated_at = @updated
             WHERE id = @id
            """, connection, transaction);
        AddTenantParameters(command, tenant);
        await command.ExecuteNonQueryAsync();
    }

    private static void AddTenantParameters(NpgsqlCommand command, TenantRecord tenant)
    {
        command.Parameters.AddWithValue("id", tenant.Id);
        command.Parameters.AddWithValue("name", tenant.Name);
        command.Parameters.AddWithValue("status", tenant.Status);
        command.Parameters.AddWithValue("tier", tenant.Tier);
        command.Parameters.AddWithValue("isolation", tenant.IsolationLevel);
        command.Parameters.Add(new NpgsqlParameter("quotas", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(tenant.QuotaOverrides, Json) });
        command.Parameters.AddWithValue("frameworks", tenant.ComplianceFrameworks.ToArray());
        command.Parameters.AddWithValue("residency", (object?)tenant.DataResidency ?? DBNull.Value);
        command.Parameters.AddWithValue("updated", tenant.UpdatedAt);
    }

    // ---- Users ----------------------------------------------------------------------------------

    private const string UserColumns = "id, user_id, email, roles, coalesce(permissions, '[]'), status::text, mfa_enabled, last_login_at, created_at";

    public async Task<TenantUserView> InsertUserAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId,
        string userId, string email, string[] roles, string[] grants, bool mfa)
    {
        await using var command = new NpgsqlCommand($"""
            INSERT INTO tenant_users (tenant_id, user_id, email, roles, permissions, mfa_enabled)
            VALUES (@tenant, @user, @email, @roles, @grants, @mfa)
            RETURNING {UserColumns}
            """, connection, transaction);
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("email", email);
        command.Parameters.AddWithValue("roles", roles);
        command.Parameters.Add(new NpgsqlParameter("grants", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(grants, Json) });
        command.Parameters.AddWithValue("mfa", mfa);
        return (await ReadUsersAsync(command)).Single();
    }

    public async Task<TenantUserView?> UpdateUserAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId,
        string? email, string[]? roles, string[]? grants, string? status, bool? mfa)
    {
        await using var command = new NpgsqlCommand($"""
            UPDATE tenant_users
               SET email = coalesce(@email, email), roles = coalesce(@roles, roles), permissions = coalesce(@grants, permissions),
                   status = coalesce(@status::user_status_enum, status), mfa_enabled = coalesce(@mfa, mfa_enabled)
             WHERE user_id = @user
            RETURNING {UserColumns}
            """, connection, transaction);
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.Add(new NpgsqlParameter("email", NpgsqlDbType.Varchar) { Value = (object?)email ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("roles", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = (object?)roles ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("grants",
            NpgsqlDbType.Jsonb) { Value = grants is null ? DBNull.Value : JsonSerializer.Serialize(grants, Json) });
        command.Parameters.Add(new NpgsqlParameter("status", NpgsqlDbType.Text) { Value = (object?)status ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("mfa", NpgsqlDbType.Boolean) { Value = (object?)mfa ?? DBNull.Value });
        return (await ReadUsersAsync(command)).SingleOrDefault();
    }

    public async Task<IReadOnlyList<TenantUserView>> ListUsersAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string? userId = null)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT {UserColumns} FROM tenant_users WHERE @user::text IS NULL OR user_id = @user ORDER BY user_id", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter("user", NpgsqlDbType.Text) { Value = (object?)userId ?? DBNull.Value });
        return await ReadUsersAsync(command);
    }

    private static async Task<List<TenantUserView>> ReadUsersAsync(NpgsqlCommand command)
    {
        var users = new List<TenantUserView>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            users.Add(new TenantUserView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<string[]>(3),
                JsonSerializer.Deserialize<string[]>(reader.GetString(4), Json) ?? [], reader.GetString(5), reader.GetBoolean(6),
                reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7), reader.GetFieldValue<DateTimeOffset>(8)));
        }

        return users;
    }

    // ---- API keys -------------------------------------------------------------------------------

    private const string KeyColumns = "k.id, k.name, k.prefix, u.user_id, k.created_at, k.expires_at, k.revoked_at, k.last_used_at";

    public async Task<ApiKeyView> InsertKeyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId,
        TenantUserView user, string name, string prefix, byte[] hash, DateTimeOffset? expiresAt, string createdBy)
    {
        var id = Guid.CreateVersion7();
        await using var command = new NpgsqlCommand("""
            INSERT INTO api_keys (id, tenant_id, tenant_user_id, name, prefix, secret_hash, created_by, expires_at)
            VALUES (@id, @tenant, @user, @name, @prefix, @hash, @createdBy, @expires)
            """, connection, transaction);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("user", user.Id);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("prefix", prefix);
        command.Parameters.AddWithValue("hash", hash);
        command.Parameters.AddWithValue("createdBy", createdBy);
        command.Parameters.Add(new NpgsqlParameter("expires", NpgsqlDbType.TimestampTz) { Value = (object?)expiresAt ?? DBNull.Value });
        await command.ExecuteNonQueryAsync();
        return (await ListKeysAsync(connection, transaction, keyId: id)).Single();
    }

    public async Task<IReadOnlyList<ApiKeyView>> ListKeysAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Guid? tenantUserId = null, Guid? keyId = null)
    {
        await using var command = new NpgsqlCommand($"""
            SELECT {KeyColumns} FROM api_keys k JOIN tenant_users u ON u.id = k.tenant_user_id
             WHERE (@user::uuid IS NULL OR k.tenant_user_id = @user) AND (@key::uuid IS NULL OR k.id = @key)
             ORDER BY k.created_at
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter("user", NpgsqlDbType.Uuid) { Value = (object?)tenantUserId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("key", NpgsqlDbType.Uuid) { Value = (object?)keyId ?? DBNull.Value });
        var keys = new List<ApiKeyView>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            keys.Add(new ApiKeyView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4),
                reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
                    reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
                reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7)));
        }

        return keys;
    }

    public async Task RevokeKeyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid keyId)
    {
        await using var command = new NpgsqlCommand("UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = @id", connection,
            transaction);
        command.Parameters.AddWithValue("id", keyId);
        await command.ExecuteNonQueryAsync();
    }

    // ---- Quota usage ----------------------------------------------------------------------------

    /// <summary>Usage of every quota in its current period.</summary>
    public async Task<Dictionary<string, long>> ReadUsageAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DateTimeOffset now)
    {
        var usage = Quotas.Names.ToDictionary(name => name, _ => 0L);
        await using var command = new NpgsqlCommand(
            "SELECT resource_type, usage_amount, period_start FROM tenant_resource_usage WHERE period_start <= @now AND period_end > @now",
            connection, transaction);
        command.Parameters.AddWithValue("now", now);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var quota = reader.GetString(0);
            if (usage.ContainsKey(quota) && Quotas.PeriodOf(quota, now).Start == reader.GetFieldValue<DateTimeOffset>(2))
            {
                usage[quota] = reader.GetInt64(1);
            }
        }

        return usage;
    }

    /// <summary>
    /// Consumes <paramref name="amount"/> of a quota in its current period, inside the caller's transaction, or
    /// throws 429 when that would pass <paramref name="limit"/>. The conditional upsert locks the usage row, so
    /// concurrent consumers, from any grain on any silo, are serialised by PostgreSQL and the check holds; the
    /// usage commits or rolls back together with the action it pays for. A negative amount releases a gauge.
    /// </summary>
    public async Task ConsumeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId, string quota,
        long amount, long limit, DateTimeOffset now)
    {
        var (start, end) = Quotas.PeriodOf(quota, now);
        if (amount > limit)
        {
            throw PhantomException.QuotaExceeded(quota, limit, await UsedAsync(connection, transaction, quota, start), amount);
        }

        await using var command = new NpgsqlCommand("""
            INSERT INTO tenant_resource_usage (tenant_id, resource_type, usage_count, usage_amount, quota_limit, period_start, period_end)
            VALUES (@tenant, @quota, 1, greatest(@amount, 0), @limit, @start, @end)
            ON CONFLICT (tenant_id, resource_type, period_start) DO UPDATE
               SET usage_count = tenant_resource_usage.usage_count + 1,
                   usage_amount = greatest(tenant_resource_usage.usage_amount + @amount, 0),
                   quota_limit = excluded.quota_limit, updated_at = now()
             WHERE @amount <= 0 OR tenant_resource_usage.usage_amount + @amount <= @limit
            RETURNING usage_amount
            """, connection, transaction);
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("quota", quota);
        command.Parameters.AddWithValue("amount", amount);
        command.Parameters.AddWithValue("limit", limit);
        command.Parameters.AddWithValue("start", start);
        command.Parameters.AddWithValue("end", end ?? EndOfTime);
        if (await command.ExecuteScalarAsync() is null)
        {
            throw PhantomException.QuotaExceeded(quota, limit, await UsedAsync(connection, transaction, quota, start), amount);
        }
    }

    /// <summary>
    /// Moves a gauge by <paramref name="delta"/> in one server-side statement (no transaction of the caller's around
    /// it): the usage row is locked only while PostgreSQL runs it, so every start and end of the tenant's work can go
    /// through it without queueing behind each other's round trips. False when an increase would pass
    /// <paramref name="limit"/> (nothing changes). Durable asynchronously: callers must reconcile the gauge with what
    /// it counts when it refuses (a crash of PostgreSQL can lose its last moves).
    /// </summary>
    public async Task<bool> AdjustGaugeAsync(Guid tenantId, string quota, long delta, long limit)
    {
        await using var batch = database.CreateBatch();
        // Without waiting for the WAL flush: the row lock is then held for microseconds, not a disk sync, and a gauge
        // that loses its last moves in a PostgreSQL crash is set right by the reconciliation its callers run on refusal.
        var scope = new NpgsqlBatchCommand(TenantDatabase.SetTenantSql + ", set_config('synchronous_commit', 'off', true)");
        scope.Parameters.AddWithValue("tenant", tenantId.ToString());
        var adjust = new NpgsqlBatchCommand("""
            INSERT INTO tenant_resource_usage (tenant_id, resource_type, usage_count, usage_amount, quota_limit, period_start, period_end)
            VALUES (@tenant, @quota, 1, greatest(@delta, 0), @limit, @start, @end)
            ON CONFLICT (tenant_id, resource_type, period_start) DO UPDATE
               SET usage_count = tenant_resource_usage.usage_count + 1,
                   usage_amount = greatest(tenant_resource_usage.usage_amount + @delta, 0),
                   quota_limit = excluded.quota_limit, updated_at = now()
             WHERE @delta <= 0 OR tenant_resource_usage.usage_amount + @delta <= @limit
            RETURNING usage_amount
            """);
        adjust.Parameters.AddWithValue("tenant", tenantId);
        adjust.Parameters.AddWithValue("quota", quota);
        adjust.Parameters.AddWithValue("delta", delta);
        adjust.Parameters.AddWithValue("limit", limit);
        adjust.Parameters.AddWithValue("start", DateTimeOffset.UnixEpoch);
        adjust.Parameters.AddWithValue("end", EndOfTime);
        batch.BatchCommands.Add(scope);
        batch.BatchCommands.Add(adjust);
        if (delta > limit)
        {
            return false;
        }

        await using var reader = await batch.ExecuteReaderAsync();
        await reader.NextResultAsync(); // past set_config's row
        return await reader.ReadAsync();
    }

    /// <summary>Sets a gauge to what was counted (a reconciliation), inside the caller's transaction.</summary>
    public async Task SetGaugeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId, string quota, long value, long limit)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO tenant_resource_usage (tenant_id, resource_type, usage_count, usage_amount, quota_limit, period_start, period_end)
            VALUES (@tenant, @quota, 0, @value, @limit, @start, @end)
            ON CONFLICT (tenant_id, resource_type, period_start) DO UPDATE SET usage_amount = @value, updated_at = now()
            """, connection, transaction);
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("quota", quota);
        command.Parameters.AddWithValue("value", value);
        command.Parameters.AddWithValue("limit", limit);
        command.Parameters.AddWithValue("start", DateTimeOffset.UnixEpoch);
        command.Parameters.AddWithValue("end", EndOfTime);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> UsedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string quota, DateTimeOffset periodStart)
    {
        await using var command = new NpgsqlCommand(
            "SELECT coalesce(max(usage_amount), 0) FROM tenant_resource_usage WHERE resource_type = @quota AND period_start = @start", connection,
                transaction);
        command.Parameters.AddWithValue("quota", quota);
        command.Parameters.AddWithValue("start", periodStart);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
