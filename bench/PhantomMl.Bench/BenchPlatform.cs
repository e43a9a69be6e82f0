using Npgsql;
using PhantomMl.Client;
using PhantomMl.Grains.Tenants;
using StackExchange.Redis;

namespace PhantomMl.Bench;

/// <summary>The SDK as a tenant admin of a fresh tenant, plus direct PostgreSQL and Redis access for the baseline.</summary>
public sealed class BenchPlatform : IAsyncDisposable
{
    private BenchPlatform(PhantomClient admin, PhantomClient tenant, string tenantKey, string tenantApiKey, Guid tenantId, NpgsqlDataSource app, NpgsqlDataSource owner,
        IConnectionMultiplexer redis)
    {
        TenantApiKey = tenantApiKey;
        Admin = admin;
        Tenant = tenant;
        TenantKey = tenantKey;
        TenantId = tenantId;
        App = app;
        Owner = owner;
        Redis = redis;
    }

    public PhantomClient Admin { get; }
    public PhantomClient Tenant { get; }
    public string TenantKey { get; }

    /// <summary>The tenant admin's API key (for the HTTP paths).</summary>
    public string TenantApiKey { get; }
    public Guid TenantId { get; }
    public NpgsqlDataSource App { get; }
    public NpgsqlDataSource Owner { get; }
    public IConnectionMultiplexer Redis { get; }

    public static async Task<BenchPlatform> ConnectAsync(BenchSettings settings)
    {
        var admin = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            Gateways = [settings.Gateway], ClusterId = settings.ClusterId, ApiKey = settings.AdminKey,
        });
        var tenantKey = $"bench-{Guid.NewGuid():N}"[..20];
        var quotas = new Dictionary<string, long>
        {
            ["models"] = 1_000_000, ["model_versions"] = 1_000_000, ["concurrent_agent_executions"] = 1_000_000, ["agent_executions"] = 100_000_000,
        };
        var tenant = await admin.CreateTenantAsync(tenantKey, new CreateTenant("Benchmark", "enterprise", ResourceQuotas: quotas));
        await admin.AddUserAsync(tenantKey, new AddTenantUser("bench", "bench@bench.test", ["tenant-admin"]));
        var key = await admin.CreateApiKeyAsync(tenantKey, "bench", new CreateApiKey("bench"));
        var client = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            Gateways = [settings.Gateway], ClusterId = settings.ClusterId, ApiKey = key.Secret,
        });
        var app = new NpgsqlDataSourceBuilder(settings.AppConnectionString) { ConnectionStringBuilder = { MaxPoolSize = 200 } }.Build();
        return new BenchPlatform(admin, client, tenantKey, key.Secret, tenant.Id, app, NpgsqlDataSource.Create(settings.OwnerConnectionString),
            await ConnectionMultiplexer.ConnectAsync(settings.Redis));
    }

    /// <summary>One transaction as the application in a tenant's context, as the platform runs its units of work.</summary>
    public async Task<T> InTenantAsync<T>(Guid tenantId, Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work)
    {
        await using var connection = await App.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var scope = new NpgsqlCommand("SELECT set_config('app.current_tenant_id', @t, true)", connection, transaction))
        {
            scope.Parameters.AddWithValue("t", tenantId.ToString());
            await scope.ExecuteNonQueryAsync();
        }

        var result = await work(connection, transaction);
        await transaction.CommitAsync();
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        await Tenant.DisposeAsync();
        await Admin.DisposeAsync();
        await App.DisposeAsync();
        await Owner.DisposeAsync();
        await Redis.DisposeAsync();
    }
}
