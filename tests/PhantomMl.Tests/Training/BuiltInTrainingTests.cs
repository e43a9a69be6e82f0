using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Training;

/// <summary>The built-in ML.NET trainer, end to end over HTTP: dataset in the registry → job → metrics → ONNX version.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class BuiltInTrainingTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    [Theory]
    [InlineData("binary-classification", "fasttree")]
    [InlineData("binary-classification", "sdca")]
    [InlineData("regression", "lightgbm")]
    public async Task Training_on_the_sample_dataset_registers_an_ONNX_version_with_sane_metrics_and_lineage(string task, string algorithm)
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("builtin");
        await UploadDatasetAsync(tenant, key, task == "regression" ? "regression" : "binary", rows: 3000);
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "churn", modelType = task == "regression" ? "regressor" : "classifier", algorithm });

        var job = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/training-jobs", key, new
        {
            jobName = $"{algorithm}-run", modelName = "churn", datasetUri = "model://churn-data/versions/1",
            config = new { trainer = "builtin", task, algorithm, rounds = 4 },
            hyperparameters = new { trees = 40, iterations = 40 },
        });
        var path = $"/api/v1/tenants/{tenant}/training-jobs/{job.GetProperty("id").GetString()}";
        job = await WaitForAsync(path, key, "completed");
        Assert.StartsWith("builtin@", job.GetProperty("runner").GetString());
        var summary = JsonDocument.Parse(job.GetProperty("metricsSummary").GetString()!).RootElement;
        var version = summary.GetProperty("version").GetString()!;

        var registered = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/churn/versions/{version}", key);
        var metrics = registered.GetProperty("performanceMetrics");
        if (task == "regression")
        {
            Assert.True(metrics.GetProperty("r2").GetDouble() > 0.8, $"R2 {metrics.GetProperty("r2")}");
        }
        else
        {
            Assert.True(registered.GetProperty("accuracy").GetDouble() > 0.8, $"accuracy {registered.GetProperty("accuracy")}");
            Assert.True(registered.GetProperty("f1").GetDouble() > 0.8, $"F1 {registered.GetProperty("f1")}");
        }

        // The artifact is an ONNX model (a protobuf ModelProto: field 1, ir_version, comes first) with its checksum.
        var artifact = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/churn/versions/{version}/artifact/metadata", key);
        using (var download = await platform.SendAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/churn/versions/{version}/artifact", key))
        {
            var onnx = await download.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
            Assert.Equal(artifact.GetProperty("sizeBytes").GetInt64(), onnx.Length);
            Assert.Equal(0x08, onnx[0]);
            Assert.Contains("x1", System.Text.Encoding.ASCII.GetString(onnx)); // the feature columns are the model's named inputs
        }

        // One learning-curve point per round, in ClickHouse.
        var curve = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{path}/metrics/{(task == "regression" ? "rmse" : "accuracy")}?maxPoints=100", key);
        Assert.Equal(4, curve.GetProperty("totalPoints").GetInt64());

        var lineage = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/churn/lineage", key);
        Assert.Contains("churn-data", lineage.GetRawText());
    }

    [Fact]
    public async Task A_cancelled_run_stops_and_registers_nothing_and_a_bad_recipe_is_refused_up_front()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("builtincancel");
        await UploadDatasetAsync(tenant, key, "binary", rows: 20_000);
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "churn", modelType = "classifier", algorithm = "fasttree" });
        var jobs = $"/api/v1/tenants/{tenant}/training-jobs";
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, jobs, key, new
        {
            jobName = "bad", modelName = "churn", datasetUri = "s3://elsewhere/data.csv", config = new { trainer = "builtin", task = "binary-classification" },
        });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, jobs, key, new
        {
            jobName = "bad", modelName = "churn", datasetUri = "model://churn-data/versions/1", config = new { trainer = "builtin", task = "clustering" },
        });

        var job = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, jobs, key, new
        {
            jobName = "long", modelName = "churn", datasetUri = "model://churn-data/versions/1",
            config = new { trainer = "builtin", task = "binary-classification", algorithm = "fasttree", rounds = 50 },
            hyperparameters = new { trees = 2000 },
        });
        var path = $"{jobs}/{job.GetProperty("id").GetString()}";
        await WaitForAsync(path, key, "running");
        var refused = await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{path}/status", key, new { status = "completed" });
        Assert.Contains("built-in trainer", refused.GetProperty("detail").GetString());
        var cancelled = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/cancel", key, new { reason = "enough" });
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());

        // Give a round time to end: the run stops there and reports nothing more.
        await Task.Delay(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.Equal("cancelled", (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, path, key)).GetProperty("status").GetString());
        Assert.Empty((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/churn/versions", key)).EnumerateArray());
    }

    [Fact]
    public async Task A_grid_search_runs_every_trial_prunes_the_clearly_bad_one_and_keeps_the_best()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("search");
        await UploadDatasetAsync(tenant, key, "binary", rows: 3000);
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "churn", modelType = "classifier", algorithm = "fasttree" });
        var jobs = $"/api/v1/tenants/{tenant}/training-jobs";
        var bad = await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, jobs, key, new
        {
            jobName = "search", modelName = "churn", datasetUri = "model://churn-data/versions/1",
            config = new { trainer = "builtin", task = "binary-classification", search = new { strategy = "grid", metric = "rmse", space = new { trees = new[] { 10 } } } },
        });
        Assert.Contains("metric", bad.GetProperty("detail").GetString());

        // Grid order: (40, 0.2), (40, 1e-6), (60, 0.2), (60, 1e-6). The fourth is clearly bad (a learning rate that learns
        // nothing) and two finished trials are better at its first round: the median rule stops it there.
        var job = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, jobs, key, new
        {
            jobName = "search", modelName = "churn", datasetUri = "model://churn-data/versions/1",
            config = new
            {
                trainer = "builtin", task = "binary-classification", algorithm = "fasttree", rounds = 3,
                search = new { strategy = "grid", metric = "accuracy", direction = "maximize", earlyStopping = "median", space = new { trees = new[] { 40, 60 }, learningRate = new[] { 0.2, 0.000001 } } },
            },
        });
        var path = $"{jobs}/{job.GetProperty("id").GetString()}";
        job = await WaitForAsync(path, key, "completed");

        var trials = (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{path}/experiments", key)).EnumerateArray().ToList();
        Assert.Equal(["trial-1", "trial-2", "trial-3", "trial-4"], trials.Select(t => t.GetProperty("name").GetString()));
        Assert.Equal("pruned", trials[3].GetProperty("status").GetString());
        Assert.Equal(["completed", "completed", "completed"], trials.Take(3).Select(t => t.GetProperty("status").GetString()));

        var summary = JsonDocument.Parse(job.GetProperty("metricsSummary").GetString()!).RootElement;
        var search = summary.GetProperty("search");
        Assert.Equal((4, 1), (search.GetProperty("trials").GetInt32(), search.GetProperty("pruned").GetInt32()));
        Assert.Contains(search.GetProperty("bestTrial").GetString(), new[] { "trial-1", "trial-3" });
        Assert.Equal(0.2, search.GetProperty("bestParameters").GetProperty("learningRate").GetDouble());
        var best = trials.Single(t => t.GetProperty("name").GetString() == search.GetProperty("bestTrial").GetString());
        var bestAccuracy = JsonDocument.Parse(best.GetProperty("metrics").GetString()!).RootElement.GetProperty("metrics").GetProperty("accuracy").GetDouble();
        Assert.True(bestAccuracy > 0.8, $"best accuracy {bestAccuracy}");
        Assert.All(trials.Take(3), t => Assert.True(
            JsonDocument.Parse(t.GetProperty("metrics").GetString()!).RootElement.GetProperty("metrics").GetProperty("accuracy").GetDouble() <= bestAccuracy));

        // Each trial has its own curve; the pruned one stopped after one round.
        var pruned = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{path}/metrics/trial-4/accuracy?maxPoints=10", key);
        Assert.Equal(1, pruned.GetProperty("totalPoints").GetInt64());
        var full = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{path}/metrics/trial-1/accuracy?maxPoints=10", key);
        Assert.Equal(3, full.GetProperty("totalPoints").GetInt64());
    }

    private async Task UploadDatasetAsync(string tenant, string key, string kind, int rows)
    {
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "churn-data", modelType = "dataset", algorithm = "none" });
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/churn-data/versions", key, new { version = "1" });
        var content = new ByteArrayContent(await SampleDatasets.GenerateAsync(kind, rows));
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Put, $"/api/v1/tenants/{tenant}/models/churn-data/versions/1/artifact", key, content);
    }

    private async Task<JsonElement> WaitForAsync(string path, string key, string status)
    {
        var deadline = DateTimeOffset.UtcNow.AddMinutes(3);
        while (true)
        {
            var job = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, path, key);
            var current = job.GetProperty("status").GetString();
            if (current == status)
            {
                return job;
            }

            Assert.False(current is "failed" or "cancelled" or "completed", $"the job became {current}: {job.GetProperty("errorMessage")}");
            Assert.True(DateTimeOffset.UtcNow < deadline, $"the job is still {current} after 3 minutes");
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }
    }
}
