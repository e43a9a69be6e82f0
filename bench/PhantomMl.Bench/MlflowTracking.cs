using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using ClickHouse.Driver;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using PhantomMl.Grains.Training;

namespace PhantomMl.Bench;

/// <summary>
/// The MLflow-compatible API as MLflow's clients use it, over HTTP: log-batch calls of 1,000 metrics from 8 clients at once
/// (points/s end to end and per-call latency), and get-history of a 100,000-point metric (p50). Each against its limit in
/// the same run: ClickHouse.Driver inserting the same rows in the same batches and parallelism, and reading the same
/// 100,000 rows. MLflow's own published figures are the README's reference.
/// </summary>
public static class MlflowTracking
{
    private const int Clients = 8;
    private const int MetricsPerBatch = 1000;
    private const int HistoryPoints = 100_000;
    private const int HistoryReads = 20;

    public static async Task RunAsync(BenchPlatform platform, BenchSettings settings)
    {
        using var http = new HttpClient { BaseAddress = new Uri(settings.HttpBase), Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", platform.TenantApiKey);
        var experiment = (await PostAsync(http, "experiments/create", new { name = $"bench-{Guid.NewGuid():N}" })).GetProperty("experiment_id").GetString();
        var calls = Math.Max(10, settings.MetricPoints / 10 / MetricsPerBatch / Clients);

        // Each client logs to its own run, as 8 training scripts would; points are spread over 10 metrics.
        var runs = new string[Clients];
        for (var i = 0; i < Clients; i++)
        {
            runs[i] = (await PostAsync(http, "runs/create", new { experiment_id = experiment })).GetProperty("run").GetProperty("info")
                .GetProperty("run_id").GetString()!;
        }

        var start = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds();
        object Batch(string run, int call) => new
        {
            run_id = run,
            metrics = Enumerable.Range(0, MetricsPerBatch).Select(i =>
            {
                var step = call * (MetricsPerBatch / 10) + i / 10;
                return new { key = $"metric_{i % 10}", value = Math.Sin(step / 100.0), timestamp = start + step, step };
            }).ToArray(),
        };

        // Warm the path (connections, JIT) on a few calls of a run of its own.
        var warm = (await PostAsync(http, "runs/create", new { experiment_id = experiment })).GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;
        for (var call = 0; call < 5; call++)
        {
            await PostAsync(http, "runs/log-batch", Batch(warm, call));
        }

        var latencies = new double[Clients * calls];
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, Clients), new ParallelOptions { MaxDegreeOfParallelism = Clients }, async (client, token) =>
        {
            for (var call = 0; call < calls; call++)
            {
                var body = Batch(runs[client], call);
                var started = Stopwatch.GetTimestamp();
                await PostAsync(http, "runs/log-batch", body);
                latencies[client * calls + call] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        });
        var mlflowRate = Clients * calls * MetricsPerBatch / clock.Elapsed.TotalSeconds;

        // The limit: the same rows straight into training_metrics, 8 inserts of 1,000 in flight.
        using var raw = new ClickHouseClient(settings.ClickHouse);
        var empty = new Dictionary<string, string>();
        var rawRows = Enumerable.Range(0, Clients * calls).Select(n =>
        {
            var (client, call) = (n / calls, n % calls);
            var job = Guid.NewGuid().ToString();
            return Enumerable.Range(0, MetricsPerBatch).Select(i =>
            {
                var step = call * (MetricsPerBatch / 10) + i / 10;
                return new object[] { DateTimeOffset.FromUnixTimeMilliseconds(start + step).UtcDateTime, platform.TenantId.ToString(), job, 0u, (uint)step,
                    $"metric_{i % 10}", Math.Sin(step / 100.0), empty };
            }).ToArray();
        }).ToArray();
        clock.Restart();
        await Parallel.ForEachAsync(rawRows, new ParallelOptions { MaxDegreeOfParallelism = Clients }, async (rows, token) =>
            await raw.InsertBinaryAsync("training_metrics", TrainingMetricsTable.Columns, rows,
                new InsertOptions { BatchSize = MetricsPerBatch, MaxDegreeOfParallelism = 1, ColumnTypes = TrainingMetricsTable.ColumnTypes }, token));
        var rawRate = rawRows.Length * MetricsPerBatch / clock.Elapsed.TotalSeconds;

        Array.Sort(latencies);
        Console.WriteLine($"MLflow log-batch over HTTP, {Clients} clients     {mlflowRate,12:N0} points/s  ({Clients * calls} calls of {MetricsPerBatch:N0} metrics; " +
                          $"per call p50 {latencies[latencies.Length / 2]:F1} ms, p99 {latencies[(int)(latencies.Length * 0.99)]:F1} ms)");
        Console.WriteLine($"raw ClickHouse.Driver, same batches           {rawRate,12:N0} points/s");
        Console.WriteLine($"ratio MLflow API/raw: {mlflowRate / rawRate:F2}   (MLflow's own server: ~130-200 ms per 1,000-metric log-batch, README)");

        // get-history of one 100,000-point metric: logged in batches, then read whole, page size 100,000.
        var historyRun = (await PostAsync(http, "runs/create", new { experiment_id = experiment })).GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;
        for (var offset = 0; offset < HistoryPoints; offset += 10_000)
        {
            var first = offset;
            await PostAsync(http, "runs/log-batch", new
            {
                run_id = historyRun,
                metrics = Enumerable.Range(first, 10_000).Select(step => new { key = "loss", value = 1.0 / (step + 1), timestamp = start + step, step }).ToArray(),
            });
        }

        var mlflowReads = new List<double>();
        var rawReads = new List<double>();
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("tenant", platform.TenantId.ToString());
        parameters.AddParameter("job", Guid.ParseExact(historyRun, "N").ToString());
        for (var i = 0; i < HistoryReads; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await http.GetAsync($"/api/2.0/mlflow/metrics/get-history?run_id={historyRun}&metric_key=loss&max_results={HistoryPoints}");
            response.EnsureSuccessStatusCode();
            await using var body = await response.Content.ReadAsStreamAsync();
            using var history = await JsonDocument.ParseAsync(body);
            mlflowReads.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (history.RootElement.GetProperty("metrics").GetArrayLength() != HistoryPoints)
            {
                throw new InvalidOperationException($"get-history returned {history.RootElement.GetProperty("metrics").GetArrayLength()} points");
            }

            started = Stopwatch.GetTimestamp();
            var read = 0;
            await using (var reader = await raw.ExecuteReaderAsync("""
                SELECT batch, metric_value, toUnixTimestamp64Milli(timestamp) FROM training_metrics
                 WHERE tenant_id = {tenant:String} AND training_job_id = {job:String} AND metric_name = 'loss'
                 ORDER BY batch, timestamp, metric_value
                """, parameters))
            {
                while (await reader.ReadAsync())
                {
                    read++;
                }
            }

            rawReads.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (read != HistoryPoints)
            {
                throw new InvalidOperationException($"raw read {read} points");
            }
        }

        mlflowReads.Sort();
        rawReads.Sort();
        Console.WriteLine($"get-history of a {HistoryPoints:N0}-point metric over HTTP: p50 {mlflowReads[HistoryReads / 2]:F1} ms  " +
                          $"(raw ClickHouse.Driver read of the same rows: p50 {rawReads[HistoryReads / 2]:F1} ms; ratio raw/API {rawReads[HistoryReads / 2] / mlflowReads[HistoryReads / 2]:F2}; " +
                          "MLflow's own server: ~220 ms, README)");
    }

    private static async Task<JsonElement> PostAsync(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsJsonAsync($"/api/2.0/mlflow/{path}", body);
        var text = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? JsonDocument.Parse(text).RootElement.Clone()
            : throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {text}");
    }
}
