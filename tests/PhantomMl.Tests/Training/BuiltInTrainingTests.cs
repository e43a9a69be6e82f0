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
        var cancelled = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/cancel", key, new { reason = "enough" });
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());

        // Give a round time to end: the run stops there and reports nothing more.
        await Task.Delay(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.Equal("cancelled", (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, path, key)).GetProperty("status").GetString());
        Assert.Empty((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/churn/versions", key)).EnumerateArray());
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
