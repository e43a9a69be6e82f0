using System.Diagnostics;
using ClickHouse.Driver;
using PhantomMl.Client;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Training;

namespace PhantomMl.Bench;

/// <summary>
/// Metric ingestion end to end (SDK → silo → ClickHouse, validated, authorized, deduplicated) against the limit:
/// ClickHouse.Driver inserting the same rows straight into the same table, in the same batches and parallelism.
/// Then the latency of downsampled history queries over the SDK-written series.
/// </summary>
public static class MetricsIngestion
{
    private const int Parallelism = 4;

    public static async Task RunAsync(BenchPlatform platform, BenchSettings settings)
    {
        await platform.Tenant.CreateModelAsync(platform.TenantKey, "ingest", new CreateModel("regressor", "sdca"));
        var sdkJob = await platform.Tenant.CreateTrainingJobAsync(platform.TenantKey, new CreateTrainingJob("ingest-sdk", "ingest", "bench://none"));
        var rawJob = Guid.NewGuid();
        var start = DateTimeOffset.UtcNow.AddHours(-2);
        var points = new MetricPoint[settings.MetricPoints];
        for (var i = 0; i < points.Length; i++)
        {
            points[i] = new MetricPoint(i % 4 == 0 ? "loss" : i % 4 == 1 ? "accuracy" : i % 4 == 2 ? "lr" : "grad_norm", Math.Sin(i / 5000.0), i / 4, start.AddMilliseconds(i));
        }

        // Warm both paths (connections, JIT) on a small slice first.
        await platform.Tenant.LogMetricsAsync(platform.TenantKey, sdkJob.Id, points[..10_000]);
        using var raw = new ClickHouseClient(settings.ClickHouse);
        await InsertRawAsync(raw, platform.TenantId, Guid.NewGuid(), points[..10_000]);

        // Raw before and after the SDK run, the better of the two taken as the limit, so that neither the order nor
        // ClickHouse's background merges of the previous run favour the SDK.
        var clock = Stopwatch.StartNew();
        await InsertRawAsync(raw, platform.TenantId, rawJob, points);
        var rawBefore = points.Length / clock.Elapsed.TotalSeconds;

        var sdkJobForRun = await platform.Tenant.CreateTrainingJobAsync(platform.TenantKey, new CreateTrainingJob("ingest-sdk-run", "ingest", "bench://none"));
        clock.Restart();
        await platform.Tenant.LogMetricsAsync(platform.TenantKey, sdkJobForRun.Id, points, parallelBatches: Parallelism);
        var sdkRate = points.Length / clock.Elapsed.TotalSeconds;

        clock.Restart();
        await InsertRawAsync(raw, platform.TenantId, Guid.NewGuid(), points);
        var rawAfter = points.Length / clock.Elapsed.TotalSeconds;
        var rawRate = Math.Max(rawBefore, rawAfter);
        Console.WriteLine($"raw runs: {rawBefore:N0} and {rawAfter:N0} points/s");

        Console.WriteLine($"raw ClickHouse.Driver InsertBinaryAsync   {rawRate,12:N0} points/s  ({points.Length:N0} points, batches of {PhantomClient.MetricBatchPoints:N0}, {Parallelism} in flight)");
        Console.WriteLine($"SDK -> cluster -> ClickHouse              {sdkRate,12:N0} points/s  (validated, authorized, deduplicated)");
        Console.WriteLine($"ratio SDK/raw: {sdkRate / rawRate:F2}");

        // Runners that log one point per call: the silo gathers them into shared INSERTs by size and time.
        var single = await platform.Tenant.CreateTrainingJobAsync(platform.TenantKey, new CreateTrainingJob("ingest-single", "ingest", "bench://none"));
        const int singles = 20_000;
        clock.Restart();
        await Parallel.ForEachAsync(Enumerable.Range(0, singles), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, token) =>
            await platform.Tenant.LogMetricAsync(platform.TenantKey, single.Id, "loss", i, i, cancellationToken: token));
        Console.WriteLine($"single-point logs, 64 callers                 {singles / clock.Elapsed.TotalSeconds,12:N0} points/s  ({singles:N0} calls, each acknowledged after its INSERT)");

        var latencies = new List<double>();
        for (var i = 0; i < settings.Searches / 10; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var history = await platform.Tenant.GetMetricHistoryAsync(platform.TenantKey, sdkJobForRun.Id, "loss", 1000);
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (history.TotalPoints != points.Length / 4)
            {
                throw new InvalidOperationException($"history counted {history.TotalPoints} points of loss, expected {points.Length / 4}");
            }
        }

        latencies.Sort();
        Console.WriteLine($"history of a {points.Length / 4:N0}-point series to 1,000 buckets: p50 {latencies[latencies.Count / 2]:F1} ms  " +
                          $"p99 {latencies[(int)(latencies.Count * 0.99)]:F1} ms  ({latencies.Count} calls via SDK)");
    }

    private static async Task InsertRawAsync(ClickHouseClient client, Guid tenantId, Guid jobId, MetricPoint[] points)
    {
        var empty = new Dictionary<string, string>();
        var batches = points.Chunk(PhantomClient.MetricBatchPoints);
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (batch, token) =>
            await client.InsertBinaryAsync("training_metrics", TrainingMetricsTable.Columns,
                batch.Select(p => new object[] { p.Timestamp!.Value.UtcDateTime, tenantId.ToString(), jobId.ToString(), 0u, (uint)p.Step, p.Name, p.Value, empty }),
                new InsertOptions { BatchSize = PhantomClient.MetricBatchPoints, MaxDegreeOfParallelism = 1, ColumnTypes = TrainingMetricsTable.ColumnTypes }, token));
    }
}
