using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using PhantomMl.Grains.Adapters.ClickHouse;
using PhantomMl.Grains.Adapters.Migrations;
using StackExchange.Redis;

namespace PhantomMl.Silo.Health;

/// <summary>PostgreSQL answers a query.</summary>
internal sealed class PostgreSqlHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT 1");
        await command.ExecuteScalarAsync(cancellationToken);
        return HealthCheckResult.Healthy();
    }
}

/// <summary>ClickHouse answers a query.</summary>
internal sealed class ClickHouseHealthCheck(ClickHouseConnections connections) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await using var connection = connections.OpenServerConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        await command.ExecuteScalarAsync(cancellationToken);
        return HealthCheckResult.Healthy();
    }
}

/// <summary>Redis answers PING.</summary>
internal sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var latency = await redis.GetDatabase().PingAsync().WaitAsync(cancellationToken);
        return HealthCheckResult.Healthy($"PING {latency.TotalMilliseconds:F1} ms");
    }
}

/// <summary>Every store's schema is at the version this build expects.</summary>
internal sealed class SchemaHealthCheck(SchemaMigrator migrator) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var pending = await migrator.GetPendingAsync(cancellationToken);
        var behind = pending.Where(p => p.Value.Count > 0).Select(p => $"{p.Key}: {string.Join(", ", p.Value)}").ToList();
        return behind.Count == 0
            ? HealthCheckResult.Healthy("current")
            : HealthCheckResult.Unhealthy($"pending migrations ({string.Join("; ", behind)}); run the migrate command");
    }
}

/// <summary>This process is an active member of the cluster.</summary>
internal sealed class SiloHealthCheck(ISiloStatusOracle membership) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(membership.CurrentStatus == SiloStatus.Active
            ? HealthCheckResult.Healthy($"{membership.SiloAddress} active")
            : HealthCheckResult.Unhealthy($"silo is {membership.CurrentStatus}"));
}
