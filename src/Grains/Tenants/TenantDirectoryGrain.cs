using System.Text.Json;
using Orleans.Concurrency;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Tenants;

/// <summary>See <see cref="ITenantDirectoryGrain"/>. Stateless: any silo answers.</summary>
[StatelessWorker]
public sealed class TenantDirectoryGrain(TenantDatabase database, AccessGuard guard, CallerAuthenticator authenticator) : Grain, ITenantDirectoryGrain
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <inheritdoc />
    public async Task<IReadOnlyList<TenantView>> ListTenantsAsync(string? after, int limit)
    {
        await guard.AuthorizePlatformAsync(Permissions.TenantsList, new AuditEvent("data_access", "tenant", "*", "list"));
        if (limit is < 1 or > 500)
        {
            throw PhantomException.Invalid("limit must be 1-500.", "limit");
        }

        await using var command = database.CreateCommand("""
            SELECT id, tenant_key, name, status::text, subscription_tier, isolation_level::text, resource_quotas,
                   coalesce(compliance_frameworks, '{}'), data_residency, created_at, updated_at, created_by
              FROM phantom_list_tenants(@after, @limit)
            """);
        command.Parameters.AddWithValue("after", (object?)after ?? DBNull.Value);
        command.Parameters.AddWithValue("limit", limit);
        var tenants = new List<TenantView>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            tenants.Add(new TenantRecord(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), JsonSerializer.Deserialize<Dictionary<string, long>>(reader.GetString(6), Json) ?? [],
                reader.GetFieldValue<string[]>(7), reader.IsDBNull(8) ? null : reader.GetString(8),
                reader.GetFieldValue<DateTimeOffset>(9), reader.GetFieldValue<DateTimeOffset>(10), reader.GetString(11)).ToView());
        }

        return tenants;
    }

    /// <inheritdoc />
    public async Task<CallerView> WhoAmIAsync()
    {
        var caller = await authenticator.AuthenticateAsync();
        return new CallerView(caller.UserId, caller.TenantKey, caller.Roles.Order().ToList(), caller.Permissions.Order().ToList(), caller.KeyId);
    }
}
