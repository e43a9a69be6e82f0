using System.Diagnostics;
using System.Net.Http.Json;
using Npgsql;
using PhantomMl.Grains.Agents;

namespace PhantomMl.Bench;

/// <summary>
/// Durable agent executions at scale: <see cref="BenchSettings.AgentExecutions"/> noop executions started at once through
/// the SDK (each admitted against the quotas, recorded, run, and every move audited in its transaction), against the
/// floor: the same three durable moves per execution (insert pending, mark running, mark completed) done as bare SQL
/// transactions at the same concurrency, in the same run. Then the memory an idle execution (waiting for approval)
/// holds in the silo, from the silo's managed heap before and after <see cref="BenchSettings.AgentWaiting"/> of them.
/// </summary>
public static class AgentExecutions
{
    private const int Concurrency = 256;

    public static async Task RunAsync(BenchPlatform platform, BenchSettings settings)
    {
        var tenant = platform.TenantKey;
        await platform.Tenant.DefineAgentAsync(tenant, "noop", new DefineAgent("noop", MaxRetries: 0));
        await platform.Tenant.DefineAgentAsync(tenant, "gate", new DefineAgent("approval", TimeoutMs: 3_600_000));
        var agent = await platform.Tenant.GetAgentAsync(tenant, "noop");

        // Warm both paths (JIT, connections, the agent's activation).
        await StartAllAsync(platform, "noop", 200);
        await WaitCompletedAsync(platform, 200);
        await RawAsync(platform, agent, 200);

        var count = settings.AgentExecutions;
        var clock = Stopwatch.StartNew();
        var since = DateTimeOffset.UtcNow;
        await StartAllAsync(platform, "noop", count);
        var startedIn = clock.Elapsed;
        await WaitCompletedAsync(platform, 200 + count);
        var completedIn = clock.Elapsed;
        var (p50, p99) = await LatencyAsync(platform, since);

        var raw = await RawAsync(platform, agent, count);
        Console.WriteLine($"grain executions: {count:N0} started in {startedIn.TotalSeconds:F1} s ({count / startedIn.TotalSeconds:F0}/s), " +
                          $"all completed in {completedIn.TotalSeconds:F1} s ({count / completedIn.TotalSeconds:F0}/s)");
        Console.WriteLine($"  start → completed: p50 {p50:F0} ms, p99 {p99:F0} ms");
        Console.WriteLine($"baseline (3 bare SQL transactions per execution, {Concurrency} at once): {count / raw.TotalSeconds:F0} executions/s");
        Console.WriteLine($"ratio grain/baseline executions/s: {count / completedIn.TotalSeconds / (count / raw.TotalSeconds):F2}");

        using var http = new HttpClient { BaseAddress = new Uri(settings.HttpBase) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", settings.AdminKey);
        var before = (await http.GetFromJsonAsync<Memory>("/api/v1/cluster/memory"))!;
        await StartAllAsync(platform, "gate", settings.AgentWaiting);
        await WaitWaitingAsync(platform, settings.AgentWaiting);
        var after = (await http.GetFromJsonAsync<Memory>("/api/v1/cluster/memory"))!;
        Console.WriteLine($"idle executions (waiting for approval): {settings.AgentWaiting:N0}, activations {before.ClusterActivations:N0} → " +
                          $"{after.ClusterActivations:N0}, managed heap {before.ManagedHeapBytes / 1e6:F1} → {after.ManagedHeapBytes / 1e6:F1} MB: " +
                          $"{(after.ManagedHeapBytes - before.ManagedHeapBytes) / (double)settings.AgentWaiting / 1024:F2} KiB per waiting execution");
    }

    private sealed record Memory(long ManagedHeapBytes, long WorkingSetBytes, int ClusterActivations);

    private static async Task StartAllAsync(BenchPlatform platform, string agent, int count) =>
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (_, token) =>
            await platform.Tenant.StartExecutionAsync(platform.TenantKey, new StartExecution(agent), token));

    private static async Task WaitCompletedAsync(BenchPlatform platform, long expected)
    {
        while (await CountAsync(platform, "status = 'completed'") < expected)
        {
            await Task.Delay(50);
        }
    }

    private static async Task WaitWaitingAsync(BenchPlatform platform, long expected)
    {
        while (await CountAsync(platform, "waiting_for = 'approval'") < expected)
        {
            await Task.Delay(100);
        }
    }

    private static Task<long> CountAsync(BenchPlatform platform, string condition) =>
        platform.InTenantAsync(platform.TenantId, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand($"SELECT count(*) FROM agent_executions WHERE {condition}", connection, transaction);
            return (long)(await command.ExecuteScalarAsync())!;
        });

    private static Task<(double P50, double P99)> LatencyAsync(BenchPlatform platform, DateTimeOffset since) =>
        platform.InTenantAsync(platform.TenantId, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)) * 1000,
                       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)) * 1000
                  FROM agent_executions WHERE created_at >= @since AND status = 'completed' AND agent_name = 'noop'
                """, connection, transaction);
            command.Parameters.AddWithValue("since", since);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            return (reader.GetDouble(0), reader.GetDouble(1));
        });

    /// <summary>The floor: per execution, three transactions of the tenant doing the three durable moves as bare SQL.</summary>
    private static async Task<TimeSpan> RawAsync(BenchPlatform platform, AgentView agent, int count)
    {
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (_, _) =>
        {
            var id = Guid.CreateVersion7();
            await Exec(platform, """
                INSERT INTO agent_executions (id, tenant_id, agent_id, agent_name, agent_version, agent_type, context, created_by)
                VALUES (@id, @tenant, @agent, 'raw', '1', 'noop', '{}', 'bench')
                """, id, agent.Id);
            await Exec(platform, "UPDATE agent_executions SET status = 'running', attempt = 1, started_at = now() WHERE tenant_id = @tenant AND id = @id", id,
                agent.Id);
            await Exec(platform, """
                UPDATE agent_executions SET status = 'completed', completed_at = now(), result_summary = '{}' WHERE tenant_id = @tenant AND id = @id
                """, id, agent.Id);
        });
        return clock.Elapsed;
    }

    private static Task<int> Exec(BenchPlatform platform, string sql, Guid id, Guid agentId) =>
        platform.InTenantAsync(platform.TenantId, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            command.Parameters.AddWithValue("id", id);
            command.Parameters.AddWithValue("tenant", platform.TenantId);
            command.Parameters.AddWithValue("agent", agentId);
            return await command.ExecuteNonQueryAsync();
        });
}
