using System.Diagnostics;
using Npgsql;
using PhantomMl.Grains.Models;

namespace PhantomMl.Bench;

/// <summary>Loads many tenants' models straight into PostgreSQL (as the application, under row-level security), then times searches through the SDK.</summary>
public static class RegistrySearch
{
    private static readonly string[] Types = ["classifier", "regressor", "ranker", "forecaster"]; // as generated below

    public static async Task RunAsync(BenchPlatform platform, BenchSettings settings)
    {
        var load = Stopwatch.StartNew();
        var tenants = new List<(Guid Id, string Key)>();
        for (var t = 0; t < settings.Tenants; t++)
        {
            var id = Guid.CreateVersion7();
            var key = $"bench-search-{t:D3}-{id.ToString("N")[..6]}";
            await platform.InTenantAsync(id, async (connection, transaction) =>
            {
                await using (var tenant = new NpgsqlCommand(
                    "INSERT INTO tenants (id, tenant_key, name, resource_quotas, created_by) VALUES (@id, @key, 'bench', '{}', 'bench')", connection, transaction))
                {
                    tenant.Parameters.AddWithValue("id", id);
                    tenant.Parameters.AddWithValue("key", key);
                    await tenant.ExecuteNonQueryAsync();
                }

                // Generated in the server: COPY is not allowed under row-level security, and this is as fast.
                await using var insert = new NpgsqlCommand("""
                    INSERT INTO models (tenant_id, name, model_type, algorithm, status, created_by, tags)
                    SELECT @tenant, 'model-' || lpad(g::text, 5, '0'), (ARRAY['classifier', 'regressor', 'ranker', 'forecaster'])[g % 4 + 1],
                           'fasttree', (CASE WHEN g % 10 = 0 THEN 'active' ELSE 'created' END)::model_status_enum, 'bench',
                           jsonb_build_object('team', 't' || (g % 7))
                      FROM generate_series(0, @count - 1) g
                    """, connection, transaction);
                insert.Parameters.AddWithValue("tenant", id);
                insert.Parameters.AddWithValue("count", settings.ModelsPerTenant);
                return await insert.ExecuteNonQueryAsync();
            });
            tenants.Add((id, key));
        }

        await using (var analyze = platform.Owner.CreateCommand("ANALYZE models"))
        {
            await analyze.ExecuteNonQueryAsync();
        }

        Console.WriteLine($"loaded {settings.Tenants * settings.ModelsPerTenant:N0} models in {load.Elapsed.TotalSeconds:F1} s");

        var queries = new (string Name, Func<int, ModelSearch> Search)[]
        {
            ("first page by name (50)", _ => new ModelSearch(Limit: 50)),
            ("model_type filter (50)", i => new ModelSearch(ModelType: Types[i % Types.Length], Limit: 50)),
            // Four of the five digits: ten models per prefix, whatever ModelsPerTenant is.
            ("name prefix (10)", i => new ModelSearch(NamePrefix: $"model-{i % Math.Max(1, settings.ModelsPerTenant / 10):D4}", Limit: 50)),
            ("tag + status (50)", i => new ModelSearch(Tag: $"team=t{i % 7}", Status: "active", Limit: 50)),
            ("newest first (50)", _ => new ModelSearch(Sort: "created", Limit: 50)),
        };
        foreach (var (name, search) in queries)
        {
            var latencies = new List<double>();
            var found = 0;
            for (var i = 0; i < settings.Searches / queries.Length; i++)
            {
                var tenant = tenants[i % tenants.Count];
                var started = Stopwatch.GetTimestamp();
                var page = await platform.Admin.SearchModelsAsync(tenant.Key, search(i));
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                found += page.Models.Count;
            }

            if (found == 0)
            {
                throw new InvalidOperationException($"{name}: no call found any model; the query or the load is broken");
            }

            latencies.Sort();
            Console.WriteLine($"search {name,-26} p50 {latencies[latencies.Count / 2],7:F2} ms  p99 {latencies[(int)(latencies.Count * 0.99)],7:F2} ms  ({latencies.Count} calls via SDK)");
        }

        // The list query's plan, as the application runs it for one tenant.
        await platform.InTenantAsync(tenants[0].Id, async (connection, transaction) =>
        {
            await using var explain = new NpgsqlCommand(
                "EXPLAIN SELECT name, model_type, version, accuracy, created_at FROM models WHERE tenant_id = @tenant AND model_type = 'ranker' LIMIT 50",
                connection, transaction);
            explain.Parameters.AddWithValue("tenant", tenants[0].Id);
            await using var reader = await explain.ExecuteReaderAsync();
            Console.WriteLine("plan of the covering list query (tenant_id, model_type) INCLUDE (name, version, accuracy, created_at):");
            while (await reader.ReadAsync())
            {
                Console.WriteLine("  " + reader.GetString(0));
            }

            return true;
        });
    }
}
