using System.Diagnostics;
using System.Net.Http.Json;
using PhantomMl.Grains.Inference;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Training;

namespace PhantomMl.Bench;

/// <summary>
/// Single-row predictions of one FastTree model: raw in-process ONNX Runtime (the limit) against the SDK path and the
/// HTTP path, at concurrency 1 and 64, each for the configured duration, in the same run. The result cache is bypassed:
/// this measures scoring, not Redis. "SDK call floor" is the same SDK call path answering without scoring or recording
/// anything (the model's inputs): what messaging and authentication alone allow on this machine.
/// </summary>
public static class InferenceThroughput
{
    public static async Task RunAsync(BenchPlatform platform, BenchSettings settings)
    {
        var (onnx, rows) = await TrainScorerAsync(settings);
        await platform.Tenant.CreateModelAsync(platform.TenantKey, "scorer", new CreateModel("classifier", "fasttree"));
        await platform.Tenant.RegisterModelVersionAsync(platform.TenantKey, "scorer", new RegisterVersion("1"));
        await platform.Tenant.UploadModelArtifactAsync(platform.TenantKey, "scorer", "1", new MemoryStream(onnx));

        using var raw = new OnnxModel(onnx);
        using var http = new HttpClient { BaseAddress = new Uri(settings.HttpBase) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", platform.TenantApiKey);
        var duration = TimeSpan.FromSeconds(Math.Max(2, settings.Duration.TotalSeconds / 2));
        var paths = new (string Name, Func<IReadOnlyDictionary<string, double>, Task> Predict)[]
        {
            ("raw ONNX Runtime, in process", row => Task.FromResult(raw.Predict([row]))),
            ("SDK -> cluster", row => platform.Tenant.PredictAsync(platform.TenantKey, "scorer", "1", [row], bypassCache: true)),
            // Not a prediction: the same call path (SDK, gateway, authentication, routing) with nothing scored or recorded.
            ("SDK call floor (inputs)", _ => platform.Tenant.DescribeModelInputsAsync(platform.TenantKey, "scorer", "1")),
            ("HTTP -> silo", async row => (await http.PostAsJsonAsync($"/api/v1/tenants/{platform.TenantKey}/models/scorer/versions/1/predict", new { rows = new[] { row }, bypassCache = true }))
                .EnsureSuccessStatusCode().Dispose()),
            // The HTTP twin of the SDK floor: Kestrel, the middleware and the same grain call, nothing scored or recorded.
            ("HTTP call floor (inputs)", async _ => (await http.GetAsync($"/api/v1/tenants/{platform.TenantKey}/models/scorer/versions/1/inputs"))
                .EnsureSuccessStatusCode().Dispose()),
        };
        var benchPid = Environment.ProcessId;
        var results = new Dictionary<(string, int), double>();
        foreach (var concurrency in new[] { 1, 64 })
        {
            foreach (var (name, predict) in paths)
            {
                await predict(rows[0]); // warm: session loaded, connections open
                var (siloBefore, benchBefore) = (ProcessCpu.Seconds(settings.FirstSiloPid), ProcessCpu.Seconds(benchPid));
                var (perSecond, p50, p99, calls) = await MeasureAsync(predict, rows, concurrency, duration);
                results[(name, concurrency)] = perSecond;
                // CPU per call of the silo and of this process (the client side, whether SDK, HttpClient or raw scoring).
                var cpu = settings.FirstSiloPid > 0
                    ? $"  CPU/call: silo {(ProcessCpu.Seconds(settings.FirstSiloPid) - siloBefore) * 1e6 / calls,5:F0} µs, bench {(ProcessCpu.Seconds(benchPid) - benchBefore) * 1e6 / calls,5:F0} µs"
                    : "";
                Console.WriteLine($"{name,-30} concurrency {concurrency,2}: {perSecond,9:N0} predictions/s  p50 {p50,7:F2} ms  p99 {p99,7:F2} ms{cpu}");
            }
        }

        foreach (var concurrency in new[] { 1, 64 })
        {
            Console.WriteLine($"ratio at concurrency {concurrency}: SDK/raw {results[("SDK -> cluster", concurrency)] / results[("raw ONNX Runtime, in process", concurrency)]:F3}  " +
                              $"HTTP/raw {results[("HTTP -> silo", concurrency)] / results[("raw ONNX Runtime, in process", concurrency)]:F3}");
        }
    }

    /// <summary>A FastTree model (100 trees) trained in process on a generated dataset, and 1,000 of its rows to score.</summary>
    public static async Task<(byte[] Onnx, IReadOnlyDictionary<string, double>[] Rows)> TrainScorerAsync(BenchSettings settings)
    {
        var csv = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.csv");
        var generator = Process.Start(new ProcessStartInfo("bash", [Path.Combine(settings.RepositoryRoot, "scripts", "sample-dataset.sh"), "binary", "5000"])
        {
            RedirectStandardOutput = true,
        })!;
        await File.WriteAllTextAsync(csv, await generator.StandardOutput.ReadToEndAsync());
        await generator.WaitForExitAsync();
        var recipe = TrainingRecipe.Parse("""{"task": "binary-classification", "algorithm": "fasttree", "rounds": 1}""", """{"trees": 100}""", "model://bench/versions/1");
        var trained = BuiltInTrainer.Train(csv, recipe, _ => true, CancellationToken.None);
        var rows = File.ReadLines(csv).Skip(1).Take(1000).Select(line => line.Split(',').Take(5).Select(double.Parse).ToArray())
            .Select(v => (IReadOnlyDictionary<string, double>)new Dictionary<string, double> { ["x1"] = v[0], ["x2"] = v[1], ["x3"] = v[2], ["x4"] = v[3], ["x5"] = v[4] })
            .ToArray();
        File.Delete(csv);
        return (trained.Onnx!, rows);
    }

    /// <summary>Calls <paramref name="predict"/> from <paramref name="concurrency"/> workers for <paramref name="duration"/>: calls/s, p50 and p99 in ms, calls made.</summary>
    public static async Task<(double PerSecond, double P50, double P99, long Calls)> MeasureAsync(Func<IReadOnlyDictionary<string, double>, Task> predict,
        IReadOnlyDictionary<string, double>[] rows, int concurrency, TimeSpan duration)
    {
        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            for (var i = worker; clock.Elapsed < duration; i += concurrency)
            {
                var started = Stopwatch.GetTimestamp();
                await predict(rows[i % rows.Length]);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        })));
        var sorted = latencies.Order().ToArray();
        return (sorted.Length / clock.Elapsed.TotalSeconds, sorted[sorted.Length / 2], sorted[(int)(sorted.Length * 0.99)], sorted.Length);
    }
}
