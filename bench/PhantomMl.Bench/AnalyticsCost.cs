using System.Diagnostics;
using Microsoft.Playwright;
using PhantomMl.Client;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Training;

namespace PhantomMl.Bench;

/// <summary>
/// What analytics cost and how the dashboard holds up:
/// <list type="number">
/// <item>Service metrics collection on vs off: the same calls through two silos of the same build on the same database,
/// one with <c>Phantom:Analytics:ServiceMetrics=false</c> (scripts/bench.sh starts it), measured in alternating rounds
/// (after an unmeasured 8 s warm-up of each, six rounds, on first in even rounds and off first in odd ones; medians) so drift of the machine does not favour one side. Calls: the SDK's call floor (an authenticated
/// call that scores nothing) and single-row predictions, at concurrency 64.</item>
/// <item>The dashboard's training job page with a 1,000,000-point curve, in Debian's Chromium: from navigation to the
/// curve drawn from the job's points, against the history API call it makes, timed alone.</item>
/// </list>
/// </summary>
public static class AnalyticsCost
{
    private const int Concurrency = 64;
    private const int CurvePoints = 1_000_000;

    public static async Task RunAsync(BenchPlatform platform, BenchSettings settings)
    {
        await CollectionCostAsync(platform, settings);
        await PageLoadAsync(platform, settings);
    }

    private static async Task CollectionCostAsync(BenchPlatform platform, BenchSettings settings)
    {
        if (settings.SecondGateway is null)
        {
            Console.WriteLine("collection on/off: skipped (PHANTOM_BENCH_SECOND_GATEWAY not set; scripts/bench.sh analytics sets it)");
            return;
        }

        var (onnx, rows) = await InferenceThroughput.TrainScorerAsync(settings);
        const string Model = "analytics-scorer";
        await platform.Tenant.CreateModelAsync(platform.TenantKey, Model, new CreateModel("classifier", "fasttree"));
        await platform.Tenant.RegisterModelVersionAsync(platform.TenantKey, Model, new RegisterVersion("1"));
        await platform.Tenant.UploadModelArtifactAsync(platform.TenantKey, Model, "1", new MemoryStream(onnx));
        await using var second = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            Gateways = [settings.SecondGateway], ClusterId = $"{settings.ClusterId}-second", ApiKey = platform.TenantApiKey,
        });
        var (on, off) = settings.SecondSiloHasMetrics ? (second, platform.Tenant) : (platform.Tenant, second);
        var (onPid, offPid) = settings.SecondSiloHasMetrics ? (settings.SecondSiloPid, settings.FirstSiloPid) : (settings.FirstSiloPid, settings.SecondSiloPid);
        Console.WriteLine($"collection is off on the {(settings.SecondSiloHasMetrics ? "first" : "second")} silo (PHANTOM_BENCH_METRICS_OFF)");

        var duration = TimeSpan.FromSeconds(Math.Max(2, settings.Duration.TotalSeconds / 2));
        var workloads = new (string Name, Func<PhantomClient, IReadOnlyDictionary<string, double>, Task> Call)[]
        {
            ("SDK call floor", (client, _) => client.DescribeModelInputsAsync(platform.TenantKey, Model, "1")),
            ("SDK predict, one row", (client, row) => client.PredictAsync(platform.TenantKey, Model, "1", [row], bypassCache: true)),
        };
        foreach (var (name, call) in workloads)
        {
            // Warm both silos first (JIT tiers, model sessions, connections): unmeasured.
            foreach (var client in new[] { on, off })
            {
                await InferenceThroughput.MeasureAsync(row => call(client, row), rows, Concurrency, TimeSpan.FromSeconds(8));
            }

            var sides = new Dictionary<string, List<(double PerSecond, double P50, double P99, long Calls)>> { ["on"] = [], ["off"] = [] };
            var cpu = new Dictionary<string, (double Seconds, long Calls)> { ["on"] = (0, 0), ["off"] = (0, 0) };
            for (var round = 0; round < 6; round++)
            {
                // Alternating which side goes first, so neither always runs right after the other's burst.
                var order = round % 2 == 0 ? new[] { ("on", on), ("off", off) } : [("off", off), ("on", on)];
                foreach (var (side, client) in order)
                {
                    var pid = side == "on" ? onPid : offPid;
                    var before = ProcessCpu.Seconds(pid);
                    var measured = await InferenceThroughput.MeasureAsync(row => call(client, row), rows, Concurrency, duration);
                    sides[side].Add(measured);
                    cpu[side] = (cpu[side].Seconds + (ProcessCpu.Seconds(pid) - before), cpu[side].Calls + measured.Calls);
                }
            }

            foreach (var (side, runs) in sides)
            {
                Console.WriteLine($"{name,-22} collection {side,-3} concurrency {Concurrency}: {Median(runs.Select(r => r.PerSecond)),9:N0} calls/s  " +
                    $"p50 {Median(runs.Select(r => r.P50)),6:F2} ms  p99 {Median(runs.Select(r => r.P99)),6:F2} ms  " +
                    $"(medians of rounds: {string.Join(", ", runs.Select(r => r.PerSecond.ToString("N0")))} calls/s)");
            }

            var ratio = Median(sides["on"].Select(r => r.PerSecond)) / Median(sides["off"].Select(r => r.PerSecond));
            Console.WriteLine($"ratio {name} on/off: {ratio:F3} (cost of collection {(1 - ratio) * 100:F1}%, target under 5%)");
            if (onPid > 0 && offPid > 0)
            {
                // The silo's own CPU per call (/proc/<pid>/stat): what collection adds to each call, whatever else the
                // machine was doing. ClickHouse's work to store the rows is in the sidecar, not here.
                var (onCpu, offCpu) = (cpu["on"].Seconds / cpu["on"].Calls * 1e6, cpu["off"].Seconds / cpu["off"].Calls * 1e6);
                Console.WriteLine($"silo CPU per call {name}: on {onCpu:F1} µs, off {offCpu:F1} µs, ratio on/off {onCpu / offCpu:F3}");
            }
        }
    }

    private static async Task PageLoadAsync(BenchPlatform platform, BenchSettings settings)
    {
        await platform.Tenant.CreateModelAsync(platform.TenantKey, "curve", new CreateModel("classifier", "fasttree"));
        var job = await platform.Tenant.CreateTrainingJobAsync(platform.TenantKey, new CreateTrainingJob("curve-run", "curve", "s3://bench/curve.csv"));
        var start = DateTimeOffset.UtcNow.AddHours(-2);
        var points = Enumerable.Range(0, CurvePoints)
            .Select(step => new MetricPoint("loss", 1.0 / (1 + step / 5000.0) + 0.01 * Math.Sin(step / 50.0), step, start.AddMilliseconds(step * 5)))
            .ToArray();
        var logged = Stopwatch.StartNew();
        await platform.Tenant.LogMetricsAsync(platform.TenantKey, job.Id, points);
        Console.WriteLine($"logged {CurvePoints:N0} points of one metric in {logged.Elapsed.TotalSeconds:F1} s");

        // The API call the page makes, alone: 1,000 buckets of the whole curve.
        using var http = new HttpClient { BaseAddress = new Uri(settings.HttpBase) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", platform.TenantApiKey);
        var apiTimes = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            var started = Stopwatch.GetTimestamp();
            (await http.GetAsync($"/api/v1/tenants/{platform.TenantKey}/training-jobs/{job.Id}/metrics/loss?maxPoints=1000")).EnsureSuccessStatusCode().Dispose();
            apiTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("PHANTOM_CHROMIUM") is { Length: > 0 } chromium ? chromium : "/usr/bin/chromium",
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update"],
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync($"{settings.HttpBase}/ui/#/signin");
        await page.GetByLabel("API key").FillAsync(platform.TenantApiKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = $"Tenant {platform.TenantKey}" }).WaitForAsync();

        // Each load: a fresh navigation to the job's page (files revalidated, the API asked again), until the curve is drawn.
        var loads = new List<double>();
        for (var i = 0; i < 6; i++)
        {
            await page.GotoAsync("about:blank");
            var started = Stopwatch.GetTimestamp();
            await page.GotoAsync($"{settings.HttpBase}/ui/#/t/{platform.TenantKey}/jobs/{job.Id}");
            await page.WaitForFunctionAsync($"() => document.querySelector('#curve canvas') && document.querySelector('#curve').dataset.total === '{CurvePoints}'",
                null, new PageWaitForFunctionOptions { Timeout = 30_000 });
            if (i > 0) // the first load warms the silo's and the browser's caches
            {
                loads.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            // The page asks for the latest values after drawing; the next load waits for them, so it does not share the cores.
            await page.Locator("#latest table").WaitForAsync();
        }

        var api = Median(apiTimes);
        var load = Median(loads);
        Console.WriteLine($"history API alone (1,000 buckets of {CurvePoints:N0} points): p50 {api:F0} ms");
        Console.WriteLine($"job page, navigation to curve drawn: p50 {load:F0} ms  max {loads.Max():F0} ms over {loads.Count} loads (target under 1,000 ms)");
        Console.WriteLine($"ratio page/API: {load / api:F2}");
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
