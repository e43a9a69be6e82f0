using System.Net;
using PhantomMl.Client;
using PhantomMl.Grains.Training;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Training;

/// <summary>Metrics through the SDK into ClickHouse and back: exactly once, validated, downsampled with the true extremes.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class TrainingMetricsTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    [Fact]
    public async Task A_million_points_logged_through_the_SDK_arrive_exactly_once_and_downsample_with_the_true_min_and_max()
    {
        var (client, tenant, jobId) = await JobAsync("million");
        await using var _ = client;
        const int count = 1_000_000;
        // A smooth curve with two spikes that a naive every-kth-point sample would miss.
        var points = new MetricPoint[count];
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        for (var step = 0; step < count; step++)
        {
            var value = step == 123_457 ? 1_000.5 : step == 876_543 ? -999.25 : Math.Sin(step / 1000.0);
            points[step] = new MetricPoint("loss", value, step, start.AddMilliseconds(step));
        }

        Assert.Equal(count, await client.LogMetricsAsync(tenant, jobId, points, cancellationToken: TestContext.Current.CancellationToken));

        var history = await client.GetMetricHistoryAsync(tenant, jobId, "loss", 500, TestContext.Current.CancellationToken);
        Assert.Equal(count, history.TotalPoints);
        Assert.InRange(history.Buckets.Count, 1, 500);
        Assert.Equal(count, history.Buckets.Sum(b => b.Count));
        Assert.Equal(1_000.5, history.Buckets.Max(b => b.Max));
        Assert.Equal(-999.25, history.Buckets.Min(b => b.Min));
        Assert.Equal((0, count - 1), (history.Buckets[0].FirstStep, history.Buckets[^1].LastStep));

        var latest = Assert.Single(await client.GetLatestMetricsAsync(tenant, jobId, TestContext.Current.CancellationToken));
        Assert.Equal(("loss", count - 1L), (latest.Metric, latest.Step));
    }

    [Fact]
    public async Task Hundreds_of_concurrent_single_point_logs_are_gathered_and_each_stored_once()
    {
        var (client, tenant, jobId) = await JobAsync("tiny");
        await using var _ = client;
        await Parallel.ForEachAsync(Enumerable.Range(0, 500), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = TestContext.Current.CancellationToken },
            async (i, token) => await client.LogMetricAsync(tenant, jobId, "loss", i, i, cancellationToken: token));
        var history = await client.GetMetricHistoryAsync(tenant, jobId, "loss", 1000, TestContext.Current.CancellationToken);
        Assert.Equal(500, history.TotalPoints);
        Assert.Equal((0, 499), (history.Buckets.Min(b => b.Min), history.Buckets.Max(b => b.Max)));
        Assert.All(history.Buckets, b => Assert.Equal(1, b.Count));
    }

    [Fact]
    public async Task A_retried_batch_is_stored_once()
    {
        // Three points go through the silo's buffer, 600 straight to ClickHouse: both paths must hold.
        var (client, tenant, jobId) = await JobAsync("retry");
        await using var _ = client;
        var large = new MetricBatch("large-1", ["f1"], new int[600], [.. Enumerable.Range(0, 600).Select(i => (long)i)], new double[600],
            Enumerable.Repeat(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 600).ToArray());
        await client.Grains.GetGrain<ITrainingMetricsGrain>(0).LogAsync(tenant, jobId, large);
        await client.Grains.GetGrain<ITrainingMetricsGrain>(0).LogAsync(tenant, jobId, large);
        Assert.Equal(600, (await client.GetMetricHistoryAsync(tenant, jobId, "f1", 10, TestContext.Current.CancellationToken)).TotalPoints);
        var batch = new MetricBatch("batch-1", ["acc"], [0, 0, 0], [1, 2, 3], [0.5, 0.6, 0.7], Enumerable.Repeat(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 3).ToArray());
        var metrics = client.Grains.GetGrain<ITrainingMetricsGrain>(0);
        Assert.Equal(3, await metrics.LogAsync(tenant, jobId, batch));
        Assert.Equal(3, await metrics.LogAsync(tenant, jobId, batch)); // the answer was "lost": the client sends it again
        Assert.Equal(3, (await client.GetMetricHistoryAsync(tenant, jobId, "acc", 10, TestContext.Current.CancellationToken)).TotalPoints);
        await metrics.LogAsync(tenant, jobId, batch with { BatchId = "batch-2" });
        Assert.Equal(6, (await client.GetMetricHistoryAsync(tenant, jobId, "acc", 10, TestContext.Current.CancellationToken)).TotalPoints);
    }

    [Fact]
    public async Task Non_finite_values_names_over_limits_and_steps_out_of_range_are_400_and_store_nothing()
    {
        var (client, tenant, jobId) = await JobAsync("invalid");
        await using var _ = client;
        var token = TestContext.Current.CancellationToken;
        async Task RefusedAsync(MetricPoint point, string field)
        {
            var error = await Assert.ThrowsAsync<PhantomException>(() => client.LogMetricsAsync(tenant, jobId, [new MetricPoint("ok", 1, 1), point], cancellationToken: token));
            Assert.Equal(400, error.Status);
            Assert.Contains(field, error.Detail + string.Join(",", error.Extensions.Values));
        }

        await RefusedAsync(new MetricPoint("loss", double.NaN, 1), "allowNonFinite");
        await RefusedAsync(new MetricPoint("loss", double.PositiveInfinity, 1), "allowNonFinite");
        await RefusedAsync(new MetricPoint(new string('x', 251), 1, 1), "name");
        await RefusedAsync(new MetricPoint("loss", 1, -1), "step");
        await RefusedAsync(new MetricPoint("loss", 1, (long)uint.MaxValue + 1), "step");
        await RefusedAsync(new MetricPoint("loss", 1, 1, new DateTimeOffset(1990, 1, 1, 0, 0, 0, TimeSpan.Zero)), "timestamp");
        Assert.Empty(await client.GetLatestMetricsAsync(tenant, jobId, token));

        // Explicitly allowed, NaN is stored.
        await client.LogMetricsAsync(tenant, jobId, [new MetricPoint("grad", double.NaN, 1)], allowNonFinite: true, cancellationToken: token);
        Assert.Equal("grad", Assert.Single(await client.GetLatestMetricsAsync(tenant, jobId, token)).Metric);

        // Over HTTP: NaN as a JSON literal, refused the same way; a batch over the limit too.
        var path = $"/api/v1/tenants/{tenant}/training-jobs/{jobId}/metrics";
        var key = _keys[tenant];
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, path, key, """{"points": [{"name": "loss", "value": "NaN", "step": 1}]}""");
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, path, key, """{"points": []}""");
        var stored = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, path, key,
            """{"points": [{"name": "loss", "value": 0.25, "step": 7}, {"name": "loss", "value": 0.125, "step": 8}]}""");
        Assert.Equal(2, stored.GetProperty("stored").GetInt32());
        var history = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/training-jobs/{jobId}/metrics/loss?maxPoints=1", key);
        var bucket = Assert.Single(history.GetProperty("buckets").EnumerateArray());
        Assert.Equal((0.125, 0.25), (bucket.GetProperty("min").GetDouble(), bucket.GetProperty("max").GetDouble()));
    }

    [Fact]
    public async Task An_external_run_logs_params_once_and_reports_its_status_through_the_SDK()
    {
        var (client, tenant, jobId) = await JobAsync("params");
        await using var _ = client;
        var token = TestContext.Current.CancellationToken;
        var job = await client.LogTrainingParamsAsync(tenant, jobId, new Dictionary<string, string> { ["optimizer"] = "adam", ["batch_size"] = "64" }, token);
        Assert.Contains("adam", job.Hyperparameters);
        await client.LogTrainingParamsAsync(tenant, jobId, new Dictionary<string, string> { ["optimizer"] = "adam" }, token); // the same value again: fine
        var conflict = await Assert.ThrowsAsync<PhantomException>(() => client.LogTrainingParamsAsync(tenant, jobId, new Dictionary<string, string> { ["optimizer"] = "sgd" }, token));
        Assert.Equal(409, conflict.Status);
        Assert.Equal(400, (await Assert.ThrowsAsync<PhantomException>(() =>
            client.LogTrainingParamsAsync(tenant, jobId, new Dictionary<string, string> { [new string('k', 251)] = "v" }, token))).Status);

        Assert.Equal("running", (await client.ReportTrainingStatusAsync(tenant, jobId, "running", cancellationToken: token)).Status);
        await client.LogMetricAsync(tenant, jobId, "loss", 0.5, 1, cancellationToken: token);
        Assert.Equal(0.5, (await client.ReportTrainingProgressAsync(tenant, jobId, 0.5, token)).Progress, 3);
        var done = await client.ReportTrainingStatusAsync(tenant, jobId, "completed", metricsSummary: """{"loss": 0.5}""", cancellationToken: token);
        Assert.Equal(("completed", 1.0), (done.Status, done.Progress));
    }

    [Fact]
    public async Task Several_jobs_compare_on_one_metric()
    {
        var (client, tenant, first) = await JobAsync("compare");
        await using var _ = client;
        var second = (await client.CreateTrainingJobAsync(tenant, new CreateTrainingJob("second", "m", "s3://d.csv"), TestContext.Current.CancellationToken)).Id;
        await client.LogMetricsAsync(tenant, first, Enumerable.Range(0, 100).Select(i => new MetricPoint("loss", 1.0 / (i + 1), i)).ToArray(),
            cancellationToken: TestContext.Current.CancellationToken);
        await client.LogMetricsAsync(tenant, second, Enumerable.Range(0, 50).Select(i => new MetricPoint("loss", 2.0 / (i + 1), i)).ToArray(),
            cancellationToken: TestContext.Current.CancellationToken);
        var compared = await client.CompareMetricAsync(tenant, [first, second], "loss", 10, TestContext.Current.CancellationToken);
        Assert.Equal([(first, 100L), (second, 50L)], compared.Select(h => (h.JobId, h.TotalPoints)));
        Assert.All(compared, h => Assert.InRange(h.Buckets.Count, 1, 10));
    }

    /// <summary>Each test tenant's admin key, for the HTTP calls.</summary>
    private readonly Dictionary<string, string> _keys = [];

    /// <summary>A tenant with a model and one job, and an SDK client as its admin.</summary>
    private async Task<(PhantomClient Client, string Tenant, Guid JobId)> JobAsync(string label)
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync(label);
        _keys[tenant] = key;
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "m", modelType = "classifier", algorithm = "fasttree" });
        var client = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            MembershipConnectionString = platform.Databases.Membership,
            ClusterId = platform.ClusterId,
            ApiKey = key,
        }, TestContext.Current.CancellationToken);
        var job = await client.CreateTrainingJobAsync(tenant, new CreateTrainingJob("run", "m", "s3://datasets/d.csv"), TestContext.Current.CancellationToken);
        return (client, tenant, job.Id);
    }
}
