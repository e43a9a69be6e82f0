using System.Diagnostics;
using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Models;

namespace PhantomMl.Bench;

/// <summary>
/// The audit trail at scale: 1,000,000 rows across many tenants loaded into PostgreSQL (through the same triggers as the
/// platform's writes: risk, tags, retention, the chain's queue), sealed into the tenants' chains, then searched and
/// verified through the SDK; and audited changes through the SDK with the chain's queue trigger off and on.
/// </summary>
public static class AuditTrail
{
    // Two words of this list go into every row's details: a word query matches about 5% of a tenant's rows, a phrase
    // of two (in order) about 1 in 1,600.
    private const string Vocabulary = "churn fraud drift retrain weekly nightly rollback promote shadow canary approve reject export import " +
                                      "forecast ranker cluster embed vector feature label holdout baseline champion challenger tuning sweep " +
                                      "lineage quota budget latency outage incident review audit consent erasure invoice pricing region";

    public static async Task RunAsync(BenchPlatform platform, BenchSettings settings)
    {
        var tenants = await LoadAsync(platform, settings);
        await SealAsync(platform, tenants);
        await SearchAsync(platform, settings, tenants);
        await VerifyAsync(platform, tenants);
        await WritesAsync(platform, settings);
    }

    private static async Task<List<(Guid Id, string Key)>> LoadAsync(BenchPlatform platform, BenchSettings settings)
    {
        var perTenant = settings.AuditRows / settings.AuditTenants;
        var start = DateTimeOffset.UtcNow.AddDays(-3);
        // Daily partitions for the three days, as the maintenance job makes them ahead.
        for (var day = start.UtcDateTime.Date.AddDays(-1); day <= DateTime.UtcNow.Date.AddDays(1); day = day.AddDays(1))
        {
            await using var partition = platform.Owner.CreateCommand(
                "SELECT phantom_ensure_range_partition('audit_logs'::regclass, @name, @from, @to)");
            partition.Parameters.AddWithValue("name", $"audit_logs_y{day:yyyy}m{day:MM}d{day:dd}");
            partition.Parameters.AddWithValue("from", new DateTimeOffset(day, TimeSpan.Zero));
            partition.Parameters.AddWithValue("to", new DateTimeOffset(day.AddDays(1), TimeSpan.Zero));
            await partition.ExecuteScalarAsync();
        }

        var load = Stopwatch.StartNew();
        var tenants = new List<(Guid Id, string Key)>();
        var words = Vocabulary.Split(' ');
        for (var t = 0; t < settings.AuditTenants; t++)
        {
            var id = Guid.CreateVersion7();
            var key = $"bench-audit-{t:D3}-{id.ToString("N")[..6]}";
            await platform.InTenantAsync(id, async (connection, transaction) =>
            {
                await using (var tenant = new NpgsqlCommand("""
                    INSERT INTO tenants (id, tenant_key, name, resource_quotas, compliance_frameworks, created_by)
                    VALUES (@id, @key, 'bench', '{}', '{SOC2}', 'bench')
                    """, connection, transaction))
                {
                    tenant.Parameters.AddWithValue("id", id);
                    tenant.Parameters.AddWithValue("key", key);
                    await tenant.ExecuteNonQueryAsync();
                }

                // Generated in the server (COPY is not allowed under row-level security); the insert triggers run per row.
                await using var insert = new NpgsqlCommand("""
                    INSERT INTO audit_logs (tenant_id, event_id, "timestamp", user_id, event_type, resource_type, resource_id, action, result,
                                            ip_address, user_agent, details)
                    SELECT @tenant, 'bench-' || g, @start + (g * @step) * interval '1 microsecond', 'user-' || (g % 50),
                           (ARRAY['model_lifecycle', 'training', 'inference', 'data_access', 'authorization', 'user_management'])[g % 6 + 1]::audit_event_type_enum,
                           (ARRAY['model', 'training_job', 'batch', 'dataset', 'agent'])[g % 5 + 1], 'res-' || (g % 997),
                           (ARRAY['create', 'update', 'delete', 'read', 'predict', 'approve', 'export'])[g % 7 + 1],
                           (CASE WHEN g % 50 = 0 THEN 'denied' WHEN g % 23 = 0 THEN 'failure' ELSE 'success' END)::audit_result_enum,
                           ('10.0.' || (g % 50) || '.' || ((g / 1000) % 3))::inet, 'bench',
                           jsonb_build_object('note', @words[(g % 40) + 1] || ' ' || @words[((g / 40) % 40) + 1], 'n', g)
                      FROM generate_series(0, @count - 1) g
                    """, connection, transaction);
                insert.Parameters.AddWithValue("tenant", id);
                insert.Parameters.AddWithValue("start", start);
                insert.Parameters.AddWithValue("step", (long)(TimeSpan.FromDays(3).TotalMicroseconds / perTenant));
                insert.Parameters.AddWithValue("words", words);
                insert.Parameters.AddWithValue("count", perTenant);
                return await insert.ExecuteNonQueryAsync();
            });
            tenants.Add((id, key));
        }

        await using (var analyze = platform.Owner.CreateCommand("ANALYZE audit_logs"))
        {
            await analyze.ExecuteNonQueryAsync();
        }

        var rows = (long)perTenant * settings.AuditTenants;
        Console.WriteLine($"loaded {rows:N0} audit rows for {settings.AuditTenants} tenants in {load.Elapsed.TotalSeconds:F1} s " +
                          $"({rows / load.Elapsed.TotalSeconds:N0} rows/s, one INSERT ... SELECT per tenant through the insert triggers)");
        return tenants;
    }

    private static async Task SealAsync(BenchPlatform platform, List<(Guid Id, string Key)> tenants)
    {
        var chain = new AuditChainSql(new TenantDatabase(platform.App));
        var clock = Stopwatch.StartNew();
        long rows = 0;
        foreach (var chunk in tenants.Chunk(4))
        {
            rows += (await Task.WhenAll(chunk.Select(async tenant =>
            {
                long sealedRows = 0;
                bool more;
                do
                {
                    (var count, more) = await chain.SealAsync(tenant.Id, 5000);
                    sealedRows += count;
                }
                while (more);
                return sealedRows;
            }))).Sum();
        }

        Console.WriteLine($"sealed {rows:N0} rows into {tenants.Count} chains in {clock.Elapsed.TotalSeconds:F1} s ({rows / clock.Elapsed.TotalSeconds:N0} rows/s, " +
                          "4 tenants at a time, 5,000 rows per transaction)");
    }

    private static async Task SearchAsync(BenchPlatform platform, BenchSettings settings, List<(Guid Id, string Key)> tenants)
    {
        var queries = new (string Name, Func<int, AuditSearchQuery> Query)[]
        {
            ("word (~5% of rows), newest 50", _ => new AuditSearchQuery("drift", Limit: 50)),
            ("phrase (~1 in 1,600), newest 50", _ => new AuditSearchQuery("\"nightly drift\"", Limit: 50)),
            ("user + action + last 24 h, 50", i => new AuditSearchQuery(UserId: $"user-{i % 50}", Action: "delete",
                From: DateTimeOffset.UtcNow.AddDays(-1), Limit: 50)),
            ("word + denied, by risk, 50", _ => new AuditSearchQuery("export", Result: "denied", Sort: "risk", Limit: 50)),
        };
        foreach (var (name, query) in queries)
        {
            var latencies = new List<double>();
            var found = 0;
            for (var i = 0; i < settings.Searches; i++)
            {
                var tenant = tenants[i % tenants.Count];
                var started = Stopwatch.GetTimestamp();
                var page = await platform.Admin.SearchAuditAsync(tenant.Key, query(i));
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                found += page.Entries.Count;
            }

            if (found == 0)
            {
                throw new InvalidOperationException($"{name}: no search found anything; the load or the query is broken");
            }

            latencies.Sort();
            Console.WriteLine($"search {name,-34} p50 {latencies[latencies.Count / 2],7:F2} ms  p95 {latencies[(int)(latencies.Count * 0.95)],7:F2} ms  " +
                              $"({latencies.Count} calls via SDK, {found / (double)latencies.Count:F1} hits per call)");
        }
    }

    private static async Task VerifyAsync(BenchPlatform platform, List<(Guid Id, string Key)> tenants)
    {
        var clock = Stopwatch.StartNew();
        long rows = 0;
        foreach (var tenant in tenants.Take(5))
        {
            var verification = await platform.Admin.VerifyAuditChainAsync(tenant.Key);
            if (!verification.Valid)
            {
                throw new InvalidOperationException($"the chain of {tenant.Key} does not verify: {verification.Break}");
            }

            rows += verification.EntriesChecked;
        }

        Console.WriteLine($"verify {rows:N0} entries of {Math.Min(5, tenants.Count)} tenants in {clock.Elapsed.TotalSeconds:F2} s: {rows / clock.Elapsed.TotalSeconds:N0} rows/s " +
                          "(via SDK: seal, then every record hash, link and digest)");
    }

    /// <summary>Audited changes (a model's tags, one model per writer) with the chain's queue trigger off, then on.</summary>
    private static async Task WritesAsync(BenchPlatform platform, BenchSettings settings)
    {
        var models = Enumerable.Range(0, settings.Writers).Select(i => $"audited-{i}").ToArray();
        foreach (var model in models)
        {
            await platform.Tenant.CreateModelAsync(platform.TenantKey, model, new CreateModel("classifier", "fasttree"));
        }

        await RunWritersAsync(platform, models, TimeSpan.FromSeconds(3)); // warm the activations and the pools
        await SetChainTriggerAsync(platform, enabled: false);
        double off;
        try
        {
            off = await RunWritersAsync(platform, models, settings.Duration);
        }
        finally
        {
            await SetChainTriggerAsync(platform, enabled: true);
        }

        var on = await RunWritersAsync(platform, models, settings.Duration);
        var chain = new AuditChainSql(new TenantDatabase(platform.App));
        var clock = Stopwatch.StartNew();
        long sealedRows = 0;
        bool more;
        do
        {
            (var count, more) = await chain.SealAsync(platform.TenantId, 5000);
            sealedRows += count;
        }
        while (more);

        Console.WriteLine($"audited changes, {settings.Writers} writers on {settings.Writers} models: chain off {off,7:F0}/s, chain on {on,7:F0}/s, " +
                          $"ratio on/off {on / off:F2}");
        Console.WriteLine($"sealing what the writers queued: {sealedRows:N0} rows in {clock.Elapsed.TotalSeconds:F2} s " +
                          $"({sealedRows / Math.Max(clock.Elapsed.TotalSeconds, 0.001):N0} rows/s, off the writers' path)");
    }

    private static async Task SetChainTriggerAsync(BenchPlatform platform, bool enabled)
    {
        await using var command = platform.Owner.CreateCommand(
            $"ALTER TABLE audit_logs {(enabled ? "ENABLE" : "DISABLE")} TRIGGER tr_audit_logs_chain");
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<double> RunWritersAsync(BenchPlatform platform, string[] models, TimeSpan duration)
    {
        long updates = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(models.Select((model, writer) => Task.Run(async () =>
        {
            for (long sequence = 1; clock.Elapsed < duration; sequence++)
            {
                await platform.Tenant.UpdateModelAsync(platform.TenantKey, model,
                    new UpdateModel(MergeTags: new Dictionary<string, string> { ["w"] = sequence.ToString() }), expectedETag: null);
                Interlocked.Increment(ref updates);
            }
        })));
        return updates / clock.Elapsed.TotalSeconds;
    }
}
