using System.Diagnostics;
using Npgsql;
using PhantomMl.Grains.Models;
using StackExchange.Redis;

namespace PhantomMl.Bench;

/// <summary>
/// Many writers changing models at once (all one model, or each its own), each writer its own tag; an update is lost if a
/// later one overwrote it.
/// </summary>
public static class ContendedUpdates
{
    public sealed record Result(long Updates, TimeSpan Elapsed, double[] LatenciesMs, long LostUpdates, long Retries)
    {
        public long[] Acknowledged { get; init; } = [];

        public double PerSecond => Updates / Elapsed.TotalSeconds;

        /// <summary>A writer's update is lost when the stored value is not the last one it was told had landed.</summary>
        public Result Check(IReadOnlyList<IReadOnlyDictionary<string, string>> finalTags) => this with
        {
            LostUpdates = Acknowledged.Select((sequence, writer) =>
                finalTags[writer % finalTags.Count].TryGetValue($"w{writer}", out var stored) && stored == sequence.ToString() ? 0 : 1).Sum(),
        };

        public void Print(string name)
        {
            Array.Sort(LatenciesMs);
            Console.WriteLine($"{name,-36} {PerSecond,9:F0} updates/s  p50 {Percentile(0.50),7:F2} ms  p99 {Percentile(0.99),7:F2} ms  " +
                              $"retries {Retries,6}  lost updates {LostUpdates}");
        }

        private double Percentile(double p) => LatenciesMs.Length == 0 ? double.NaN : LatenciesMs[(int)Math.Min(LatenciesMs.Length - 1, p * LatenciesMs.Length)];
    }

    /// <summary>
    /// The platform's way: each writer sends its change (its own tag, set to its next sequence number) with
    /// If-Match: * and the model's grain applies the changes one at a time; nothing is read first, nothing retried.
    /// </summary>
    public static async Task<Result> RunGrainAsync(BenchPlatform platform, BenchSettings settings, int models)
    {
        var names = Enumerable.Range(0, models).Select(m => $"contended-grain-{models}-{m}").ToArray();
        foreach (var name in names)
        {
            await platform.Tenant.CreateModelAsync(platform.TenantKey, name, new CreateModel("classifier", "fasttree"));
        }

        var result = await RunAsync(settings, (writer, sequence) => platform.Tenant.UpdateModelAsync(platform.TenantKey, names[writer % models],
            new UpdateModel(MergeTags: Tag(writer, sequence)), expectedETag: null));
        var final = new List<IReadOnlyDictionary<string, string>>();
        foreach (var name in names)
        {
            final.Add((await platform.Tenant.GetModelAsync(platform.TenantKey, name)).Tags);
        }

        return result.Check(final);
    }

    /// <summary>
    /// The design document's StrongConsistencyManager, faithfully: a Redis lock per model (SET NX PX 30000,
    /// released by a compare-and-delete script), then a transaction that reads the row FOR UPDATE and writes it.
    /// <paramref name="withAuditRow"/>: the transaction also writes the update's audit row through the platform's own
    /// <c>record_audit_event_once</c>, as every grain update does, so both sides do the same work in PostgreSQL.
    /// </summary>
    public static async Task<Result> RunLockBaselineAsync(BenchPlatform platform, BenchSettings settings, int models, bool withAuditRow = false)
    {
        var ids = new List<Guid>();
        foreach (var m in Enumerable.Range(0, models))
        {
            ids.Add((await platform.Tenant.CreateModelAsync(platform.TenantKey, $"contended-baseline-{models}-{m}{(withAuditRow ? "-audited" : "")}",
                new CreateModel("classifier", "fasttree"))).Id);
        }

        var redis = platform.Redis.GetDatabase();
        const string release = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
        long retries = 0;
        var result = await RunAsync(settings, async (writer, sequence) =>
        {
            var modelId = ids[writer % models];
            var lockKey = $"model_lock:{modelId}";
            var token = Guid.NewGuid().ToString();
            while (!await redis.StringSetAsync(lockKey, token, TimeSpan.FromSeconds(30), When.NotExists))
            {
                Interlocked.Increment(ref retries);
                await Task.Delay(1);
            }

            try
            {
                await platform.InTenantAsync(platform.TenantId, async (connection, transaction) =>
                {
                    // As the design wrote it: read the current row under the lock FOR UPDATE, then write it. The
                    // tenant predicate is not in the design's query; it is added so that, like the grain's queries,
                    // the baseline's plans touch the tenant's one partition and the comparison is about locking only.
                    string tags;
                    await using (var select = new NpgsqlCommand("SELECT tags::text FROM models WHERE tenant_id = @tenant AND id = @id FOR UPDATE", connection, transaction))
                    {
                        select.Parameters.AddWithValue("tenant", platform.TenantId);
                        select.Parameters.AddWithValue("id", modelId);
                        tags = (string)(await select.ExecuteScalarAsync())!;
                    }

                    var merged = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(tags)!;
                    foreach (var (key, value) in Tag(writer, sequence))
                    {
                        merged[key] = value;
                    }

                    await using (var update = new NpgsqlCommand(
                        "UPDATE models SET tags = @tags::jsonb, row_version = row_version + 1, updated_at = now() WHERE tenant_id = @tenant AND id = @id", connection, transaction))
                    {
                        update.Parameters.AddWithValue("tenant", platform.TenantId);
                        update.Parameters.AddWithValue("id", modelId);
                        update.Parameters.AddWithValue("tags", System.Text.Json.JsonSerializer.Serialize(merged));
                        await update.ExecuteNonQueryAsync();
                    }

                    if (withAuditRow)
                    {
                        await RecordAuditRowAsync(platform, connection, transaction, modelId, Tag(writer, sequence));
                    }

                    return true;
                });
            }
            finally
            {
                await redis.ScriptEvaluateAsync(release, [lockKey], [token]);
            }
        });

        var final = new List<IReadOnlyDictionary<string, string>>();
        foreach (var id in ids)
        {
            final.Add(await FinalBaselineTagsAsync(platform, id));
        }

        return result.Check(final) with { Retries = retries };
    }

    /// <summary>The row a grain update writes: same function, same kind of details, its own event id.</summary>
    private static async Task RecordAuditRowAsync(BenchPlatform platform, NpgsqlConnection connection, NpgsqlTransaction transaction, Guid modelId,
        Dictionary<string, string> tags)
    {
        await using var audit = new NpgsqlCommand("""
            SELECT record_audit_event_once(@tenant, @event, NULL, now(), 'bench', NULL, 'model_lifecycle', 'model', @model, 'update', 'success',
                                           '127.0.0.1'::inet, 'bench', NULL, @details::jsonb, NULL, NULL)
            """, connection, transaction);
        audit.Parameters.AddWithValue("tenant", platform.TenantId);
        audit.Parameters.AddWithValue("event", Guid.NewGuid().ToString());
        audit.Parameters.AddWithValue("model", modelId.ToString());
        audit.Parameters.AddWithValue("details", System.Text.Json.JsonSerializer.Serialize(new { mergeTags = tags }));
        await audit.ExecuteScalarAsync();
    }

    private static Task<Dictionary<string, string>> FinalBaselineTagsAsync(BenchPlatform platform, Guid modelId) =>
        platform.InTenantAsync(platform.TenantId, async (connection, transaction) =>
        {
            await using var select = new NpgsqlCommand("SELECT tags::text FROM models WHERE id = @id", connection, transaction);
            select.Parameters.AddWithValue("id", modelId);
            return System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>((string)(await select.ExecuteScalarAsync())!)!;
        });

    /// <summary>
    /// Runs <paramref name="update"/> from every writer until the time is up, each writer numbering its
    /// updates; measures each acknowledged update and remembers the last sequence number each writer was told landed.
    /// </summary>
    private static async Task<Result> RunAsync(BenchSettings settings, Func<int, long, Task> update)
    {
        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        var acknowledged = new long[settings.Writers];
        var clock = Stopwatch.StartNew();
        var writers = Enumerable.Range(0, settings.Writers).Select(writer => Task.Run(async () =>
        {
            for (long sequence = 1; clock.Elapsed < settings.Duration; sequence++)
            {
                var started = Stopwatch.GetTimestamp();
                await update(writer, sequence);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                acknowledged[writer] = sequence;
            }
        }));
        await Task.WhenAll(writers);
        clock.Stop();
        return new Result(latencies.Count, clock.Elapsed, [.. latencies], 0, 0) { Acknowledged = acknowledged };
    }

    private static Dictionary<string, string> Tag(int writer, long sequence) => new() { [$"w{writer}"] = sequence.ToString() };

}
