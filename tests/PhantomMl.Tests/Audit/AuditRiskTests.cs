using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Audit;

/// <summary>The risk rules of the audit insert trigger that depend on history, on a migrated database.</summary>
public sealed class AuditRiskTests : IAsyncLifetime
{
    private MigratedDatabases? _databases;

    private MigratedDatabases Databases => _databases ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync() => _databases = await MigratedDatabases.CreateAsync("risk");

    public async ValueTask DisposeAsync()
    {
        if (_databases is not null)
        {
            await _databases.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_address_the_user_has_not_used_in_30_days_adds_risk_only_once_the_user_has_history()
    {
        var tenant = await TenantSql.CreateTenantAsync(Databases.OwnerSource);
        // At noon UTC (no unusual-hours points), a plain successful read scores 0 but for the address rule.
        var noon = DateTimeOffset.UtcNow.Date.AddHours(12);
        async Task<decimal> RiskAsync(string user, string address, DateTimeOffset at)
        {
            var id = Guid.NewGuid().ToString();
            await TenantSql.ExecuteAsync(Databases.AppSource, tenant, $"""
                INSERT INTO audit_logs (tenant_id, event_id, "timestamp", user_id, event_type, resource_type, resource_id, action, result, ip_address)
                VALUES ('{tenant}', '{id}', '{at:O}', '{user}', 'data_access', 'model', 'm', 'read', 'success', '{address}')
                """);
            return await TenantSql.ScalarAsync<decimal>(Databases.AppSource, tenant, $"SELECT risk_score FROM audit_logs WHERE event_id = '{id}'");
        }

        Assert.Equal(0.00m, await RiskAsync("ann", "10.0.0.1", noon.AddDays(-40)));   // no history: nothing to compare with
        Assert.Equal(0.00m, await RiskAsync("ann", "10.0.0.1", noon.AddDays(-2)));    // seen before (40 days ago: no other address since)
        Assert.Equal(0.20m, await RiskAsync("ann", "10.0.0.2", noon.AddDays(-1)));    // new, while 10.0.0.1 was used 1 day before
        Assert.Equal(0.00m, await RiskAsync("ann", "10.0.0.2", noon));                // now known
        Assert.Equal(0.00m, await RiskAsync("ann", "10.0.0.1", noon));                // still known
        Assert.Equal(0.00m, await RiskAsync("bob", "10.0.0.2", noon));                // another user's history does not count
        Assert.Equal(0.20m, await RiskAsync("bob", "10.0.0.3", noon.AddHours(1)));
    }
}
