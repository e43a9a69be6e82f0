using System.Globalization;
using System.Net;
using System.Text.Json;
using PhantomMl.Client;
using PhantomMl.Grains.Training;
using PhantomMl.Tests.Infrastructure;
using PhantomMl.Tests.Training;

namespace PhantomMl.Tests.Analytics;

/// <summary>
/// Service metrics of a real silo (HTTP requests and grain calls, each attributed to its tenant), read back through the
/// analytics API: series with percentiles, the busiest tenants, usage reports that agree with the quota counters, and a
/// training metric's long history served from the hourly rollup.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class ServiceMetricsTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    private const string ModelsRoute = "GET /api/v1/tenants/{tenantKey}/models";

    [Fact]
    public async Task Calls_are_measured_per_operation_and_tenant_and_a_tenant_sees_only_its_own()
    {
        var (busy, busyKey) = await platform.CreateTenantWithAdminAsync("svcbusy");
        var (quiet, quietKey) = await platform.CreateTenantWithAdminAsync("svcquiet");
        const int Calls = 25;
        for (var i = 0; i < Calls; i++)
        {
            await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{busy}/models", busyKey);
        }

        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{busy}/models/nothing-here", busyKey);
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{quiet}/models", quietKey);

        // The busy tenant's own series: its 25 listings under the route template, with percentiles in order.
        var series = await PollAsync(async () =>
        {
            var found = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get,
                $"/api/v1/tenants/{busy}/analytics/service?service=http&from={Since()}", busyKey);
            return Operation(found, "http", ModelsRoute) is { } listed && listed.GetProperty("requests").GetInt64() >= Calls ? found : (JsonElement?)null;
        }, $"{Calls} listings of {busy} in its service series");
        var listings = Operation(series, "http", ModelsRoute)!.Value;
        Assert.Equal(Calls, listings.GetProperty("requests").GetInt64());
        Assert.Equal(0, listings.GetProperty("serverErrors").GetInt64());
        var (p50, p95, p99) = (listings.GetProperty("p50Ms").GetDouble(), listings.GetProperty("p95Ms").GetDouble(), listings.GetProperty("p99Ms").GetDouble());
        Assert.True(p50 > 0 && p50 <= p95 && p95 <= p99, $"percentiles {p50} <= {p95} <= {p99}");
        Assert.InRange(listings.GetProperty("meanMs").GetDouble(), 0.001, p99 * 1.1);
        var buckets = series.GetProperty("buckets").EnumerateArray().ToList();
        Assert.Equal(series.GetProperty("totals").GetProperty("requests").GetInt64(), buckets.Sum(b => b.GetProperty("figures").GetProperty("requests").GetInt64()));

        // The grain calls behind them, attributed to the tenant by the authenticated caller.
        var grains = await PollAsync(async () =>
        {
            var found = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get,
                $"/api/v1/tenants/{busy}/analytics/service?service=grain&from={Since()}", busyKey);
            return found.GetProperty("totals").GetProperty("requests").GetInt64() >= Calls ? found : (JsonElement?)null;
        }, "the grain calls of the listings");
        Assert.All(grains.GetProperty("operations").EnumerateArray(), op => Assert.Equal("grain", op.GetProperty("service").GetString()));

        // The quiet tenant sees its one listing (and the platform admin's setting up of its user and key, made on its routes).
        var quietSeries = await PollAsync(async () =>
        {
            var found = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get,
                $"/api/v1/tenants/{quiet}/analytics/service?service=http&from={Since()}", quietKey);
            return Operation(found, "http", ModelsRoute) is not null ? found : (JsonElement?)null;
        }, $"the listing of {quiet}");
        Assert.Equal(1, Operation(quietSeries, "http", ModelsRoute)!.Value.GetProperty("requests").GetInt64());
        Assert.DoesNotContain(quietSeries.GetProperty("operations").EnumerateArray(), op => op.GetProperty("operation").GetString()!.Contains("{name}"));
        // A 404 is counted, but for nobody: refused callers cannot make up tenants in the figures.
        Assert.Null(Operation(series, "http", ModelsRoute + "/{name}"));

        // Another tenant's analytics are 404, the platform's 403 for a tenant admin.
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{busy}/analytics/service", quietKey);
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Get, "/api/v1/cluster/analytics/top-tenants", busyKey);

        // The platform admin ranks tenants: the busy one above the quiet one, by name.
        var top = await PollAsync(async () =>
        {
            var found = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/v1/cluster/analytics/top-tenants?by=grain_calls&limit=100");
            var keys = found.GetProperty("tenants").EnumerateArray().Select(t => t.GetProperty("tenantKey").GetString()).ToList();
            return keys.Contains(busy) && keys.Contains(quiet) ? found : (JsonElement?)null;
        }, "both tenants in the ranking");
        var ranked = top.GetProperty("tenants").EnumerateArray().ToList();
        var busyRank = ranked.FindIndex(t => t.GetProperty("tenantKey").GetString() == busy);
        Assert.True(busyRank < ranked.FindIndex(t => t.GetProperty("tenantKey").GetString() == quiet));
        Assert.Equal("Tenant svcbusy", ranked[busyRank].GetProperty("name").GetString());
        Assert.True(ranked[busyRank].GetProperty("grainCalls").GetInt64() >= Calls);
    }

    [Fact]
    public async Task Platform_health_shows_each_silo_with_its_live_values_and_resource_history()
    {
        var health = await PollAsync(async () =>
        {
            var found = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/v1/cluster/analytics/health?bucketSeconds=60");
            var silo = found.GetProperty("silos").EnumerateArray().SingleOrDefault();
            return silo.ValueKind == JsonValueKind.Object && silo.GetProperty("resources").GetArrayLength() > 0 &&
                silo.GetProperty("liveService").ValueKind == JsonValueKind.Object ? found : (JsonElement?)null;
        }, "the silo's live values and a resource bucket");
        var only = health.GetProperty("silos")[0];
        Assert.Equal("Active", only.GetProperty("status").GetString());
        Assert.Equal(only.GetProperty("name").GetString(), only.GetProperty("liveResources").GetProperty("silo").GetString());
        Assert.InRange(only.GetProperty("resources")[0].GetProperty("cpuPercent").GetDouble(), 0, 100);
        Assert.Equal(JsonValueKind.Null, only.GetProperty("resources")[0].GetProperty("gpuUtilization").ValueKind);
        Assert.True(only.GetProperty("liveService").GetProperty("operations").GetArrayLength() > 0);
    }

    [Fact]
    public async Task Bad_analytics_queries_are_400()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("svcbad");
        foreach (var query in new[] { "service=ftp", "bucketSeconds=0", "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "bucketSeconds=1&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z", "from=yesterday" })
        {
            await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, $"/api/v1/tenants/{tenant}/analytics/service?{query}", key);
        }

        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, $"/api/v1/tenants/{tenant}/analytics/usage?month=2026-13", key);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, "/api/v1/cluster/analytics/top-tenants?by=money");
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, "/api/v1/cluster/analytics/top-tenants?limit=0");
    }

    [Fact]
    public async Task The_usage_report_agrees_with_the_quota_counters_and_with_what_ClickHouse_recorded()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("svcusage");
        await platform.AddModelWithArtifactAsync(tenant, key, "scorer", "classifier", "fasttree",
            await SampleDatasets.TrainBinaryOnnxAsync(rows: 500, seed: 3, trees: 5), "application/octet-stream", "1");
        const int Requests = 7;
        for (var i = 0; i < Requests; i++)
        {
            await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/scorer/versions/1/predict", key,
                new { rows = new[] { Row(i), Row(i + 0.5) }, bypassCache = true });
        }

        var quotas = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/quotas", key);
        long Used(string resource) => quotas.EnumerateArray().Single(q => q.GetProperty("resource").GetString() == resource).GetProperty("used").GetInt64();

        var report = await PollAsync(async () =>
        {
            var found = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/analytics/usage", key);
            return found.GetProperty("recorded").GetProperty("predictRequests").GetInt64() == Requests ? found : (JsonElement?)null;
        }, $"{Requests} recorded predict requests in the usage report");
        var lines = report.GetProperty("quotas").EnumerateArray().ToDictionary(q => q.GetProperty("resource").GetString()!);
        foreach (var resource in new[] { "inference_requests", "inference_rows", "models", "model_versions", "users", "artifact_bytes" })
        {
            Assert.Equal(Used(resource), lines[resource].GetProperty("used").GetInt64());
        }

        // The per-request quotas are counted in blocks a silo reserves ahead (MonthlyQuotaLeases): the counter is never below
        // what was served, and what was served is what ClickHouse recorded.
        Assert.Equal(2 * Requests, report.GetProperty("recorded").GetProperty("rowsScored").GetInt64());
        Assert.InRange(Used("inference_requests"), Requests, long.MaxValue);
        Assert.InRange(Used("inference_rows"), 2 * Requests, long.MaxValue);
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM", CultureInfo.InvariantCulture), report.GetProperty("month").GetString());

        // An earlier month: the monthly counters are empty, the gauges say what exists now.
        var past = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/analytics/usage?month=2020-01", key);
        var pastLines = past.GetProperty("quotas").EnumerateArray().ToDictionary(q => q.GetProperty("resource").GetString()!);
        Assert.Equal(0, pastLines["inference_requests"].GetProperty("used").GetInt64());
        Assert.Equal(1, pastLines["models"].GetProperty("used").GetInt64());
    }

    [Fact]
    public async Task A_long_range_of_training_history_is_served_from_the_hourly_rollup_and_agrees_with_the_points()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("svcrollup");
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "m", modelType = "classifier", algorithm = "fasttree" });
        await using var client = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            MembershipConnectionString = platform.Databases.Membership,
            ClusterId = platform.ClusterId,
            ApiKey = key,
        }, TestContext.Current.CancellationToken);
        var job = await client.CreateTrainingJobAsync(tenant, new CreateTrainingJob("run", "m", "s3://datasets/d.csv"), TestContext.Current.CancellationToken);

        // Three days of a point a minute, ending an hour ago.
        var start = new DateTimeOffset(DateTime.UtcNow.Ticks / TimeSpan.TicksPerHour * TimeSpan.TicksPerHour, TimeSpan.Zero).AddDays(-3).AddHours(-1);
        var points = Enumerable.Range(0, 3 * 24 * 60)
            .Select(minute => new MetricPoint("loss", Math.Round(1.0 / (1 + minute / 60.0) + minute % 7 * 0.01, 6), minute, start.AddMinutes(minute)))
            .ToArray();
        await client.LogMetricsAsync(tenant, job.Id, points, cancellationToken: TestContext.Current.CancellationToken);

        var end = start.AddDays(3);
        var hourly = await client.GetMetricTimelineAsync(tenant, job.Id, "loss", start.AddMinutes(10), end, maxPoints: 36,
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("hourly-rollup", hourly.Source);
        Assert.Equal(7200, hourly.BucketSeconds);
        Assert.Equal(start, hourly.From); // whole hours: the window starts at its first hour
        Assert.Equal(36, hourly.Buckets.Count);
        Assert.Equal(points.Length, hourly.TotalPoints);
        foreach (var bucket in hourly.Buckets)
        {
            var inBucket = points.Where(p => p.Timestamp >= bucket.Start && p.Timestamp < bucket.Start.AddHours(2)).Select(p => p.Value).ToList();
            Assert.Equal(inBucket.Count, bucket.Count);
            Assert.Equal(inBucket.Min(), bucket.Min, 9);
            Assert.Equal(inBucket.Max(), bucket.Max, 9);
            Assert.Equal(inBucket.Average(), bucket.Avg, 9);
        }

        // A short range is computed from the points, and over HTTP too.
        var recent = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get,
            $"/api/v1/tenants/{tenant}/training-jobs/{job.Id}/timeline/loss?from={Iso(end.AddHours(-2))}&to={Iso(end)}&maxPoints=120", key);
        Assert.Equal("points", recent.GetProperty("source").GetString());
        Assert.Equal(60, recent.GetProperty("bucketSeconds").GetInt32());
        Assert.Equal(120, recent.GetProperty("totalPoints").GetInt64());

        // Zooming into steps re-queries just that range.
        var zoomed = await client.GetMetricHistoryAsync(tenant, job.Id, "loss", fromStep: 100, toStep: 199, maxPoints: 10,
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(100, zoomed.TotalPoints);
        Assert.Equal((100, 199), (zoomed.Buckets[0].FirstStep, zoomed.Buckets[^1].LastStep));
        // A range past the last step, and a metric never logged, are empty histories, not errors.
        foreach (var (metric, from) in new[] { ("loss", 1_000_000L), ("never-logged", 0L) })
        {
            var empty = await client.GetMetricHistoryAsync(tenant, job.Id, metric, fromStep: from, toStep: from + 1_000, maxPoints: 10,
                cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(0, empty.TotalPoints);
            Assert.Empty(empty.Buckets);
        }

        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get,
            $"/api/v1/tenants/{tenant}/training-jobs/{job.Id}/metrics/loss?fromStep=9&toStep=3", key);
    }

    private static JsonElement? Operation(JsonElement series, string service, string operation) =>
        series.GetProperty("operations").EnumerateArray()
            .Where(op => op.GetProperty("service").GetString() == service && op.GetProperty("operation").GetString() == operation)
            .Select(op => op.GetProperty("figures")).Cast<JsonElement?>().FirstOrDefault();

    private static string Since() => Iso(DateTimeOffset.UtcNow.AddMinutes(-30));

    private static string Iso(DateTimeOffset at) => Uri.EscapeDataString(at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));

    private static Dictionary<string, double> Row(double value) => new() { ["x1"] = value, ["x2"] = -value, ["x3"] = value / 2, ["x4"] = 1 - value, ["x5"] = value };

    private static async Task<T> PollAsync<T>(Func<Task<T?>> probe, string what) where T : struct
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (true)
        {
            if (await probe() is { } found)
            {
                return found;
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, $"not within 60 s: {what}");
            await Task.Delay(500, TestContext.Current.CancellationToken);
        }
    }
}
