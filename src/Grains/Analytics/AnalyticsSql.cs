using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Analytics;

/// <summary>The PostgreSQL side of performance analytics: quota counters of a month, and tenant names for rankings.</summary>
public sealed class AnalyticsSql(TenantDatabase database)
{
    /// <summary>
    /// The tenant's tenant_resource_usage rows that count <paramref name="monthStart"/>'s month: the month's row of each
    /// monthly quota, and the one endless row of each gauge (which says what exists now, not then).
    /// </summary>
    public Task<Dictionary<string, (long Operations, long Used)>> MonthUsageAsync(Guid tenantId, DateTimeOffset monthStart) =>
        database.InTenantAsync(tenantId, async (_, transaction) =>
        {
            await using var command = TenantDatabase.TenantCommand(transaction, """
                SELECT resource_type, usage_count, usage_amount, period_start FROM tenant_resource_usage
                 WHERE tenant_id = @tenant AND period_start IN (@month, @gauge)
                """);
            command.Parameters.AddWithValue("month", monthStart);
            command.Parameters.AddWithValue("gauge", DateTimeOffset.UnixEpoch);
            var usage = new Dictionary<string, (long, long)>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var quota = reader.GetString(0);
                if (Quotas.ByName.TryGetValue(quota, out var definition) &&
                    Quotas.PeriodOf(quota, monthStart).Start == reader.GetFieldValue<DateTimeOffset>(3) && definition.Kind != QuotaKind.Limit)
                {
                    usage[quota] = (reader.GetInt64(1), reader.GetInt64(2));
                }
            }

            return usage;
        });

    /// <summary>The key and name of each tenant id (a platform admin's view; at most 1,000 ids).</summary>
    public async Task<Dictionary<Guid, (string Key, string Name)>> TenantNamesAsync(IReadOnlyCollection<Guid> ids)
    {
        await using var command = database.CreateCommand("SELECT id, tenant_key, name FROM phantom_tenant_names(@ids)");
        command.Parameters.AddWithValue("ids", ids.ToArray());
        var names = new Dictionary<Guid, (string, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            names[reader.GetGuid(0)] = (reader.GetString(1), reader.GetString(2));
        }

        return names;
    }
}
