using System.Net;
using System.Text.Json;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Training;

/// <summary>Training jobs over HTTP: the state machine, the per-tenant concurrency quota and the queue order.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class TrainingJobTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    [Fact]
    public async Task A_job_moves_along_its_state_machine_and_illegal_moves_are_409()
    {
        var (tenant, key) = await TenantWithModelAsync("jobsm", slots: 5);
        var job = await CreateJobAsync(tenant, key, "first");
        Assert.Equal("scheduled", Status(job)); // a free slot: scheduled at once
        var path = JobPath(tenant, job);

        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{path}/status", key, new { status = "completed" });
        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{path}/progress", key, new { progress = 0.5 });
        job = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/status", key, new { status = "running" });
        Assert.NotNull(job.GetProperty("startedAt").GetString());
        job = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/progress", key, new { progress = 0.25 });
        Assert.Equal(0.25, job.GetProperty("progress").GetDouble(), 3);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{path}/progress", key, new { progress = 1.5 });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{path}/status", key, new { status = "failed" }); // no error message
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{path}/status", key, new { status = "dancing" });

        job = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/status", key, new { status = "failed", errorMessage = "out of memory" });
        Assert.Equal(("failed", "out of memory"), (Status(job), job.GetProperty("errorMessage").GetString()));
        job = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/retry", key);
        Assert.Equal(("scheduled", 2), (Status(job), job.GetProperty("attempt").GetInt32()));
        Assert.Equal(JsonValueKind.Null, job.GetProperty("errorMessage").ValueKind);

        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/status", key, new { status = "running" });
        job = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/status", key,
            new { status = "completed", metricsSummary = new { accuracy = 0.93 } });
        Assert.Equal(("completed", 1.0), (Status(job), job.GetProperty("progress").GetDouble()));
        Assert.Contains("0.93", job.GetProperty("metricsSummary").GetString());
        var refused = await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{path}/cancel", key);
        Assert.Contains("cannot become cancelled", refused.GetProperty("detail").GetString());
        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{path}/retry", key);

        var audit = await platform.AuditAsync(tenant);
        Assert.Contains(audit, row => row.GetProperty("action").GetString() == "retry" && row.GetProperty("result").GetString() == "success");
        Assert.Contains(audit, row => row.GetProperty("action").GetString() == "cancel" && row.GetProperty("result").GetString() == "failure");
    }

    [Fact]
    public async Task The_concurrency_quota_holds_and_the_queue_runs_by_priority_then_age()
    {
        var (tenant, key) = await TenantWithModelAsync("jobq", slots: 2);
        var a = await CreateJobAsync(tenant, key, "a");
        var b = await CreateJobAsync(tenant, key, "b");
        var low = await CreateJobAsync(tenant, key, "low", priority: 0);
        var high = await CreateJobAsync(tenant, key, "high", priority: 10);
        var later = await CreateJobAsync(tenant, key, "later", priority: 0);
        Assert.Equal(["scheduled", "scheduled", "pending", "pending", "pending"], new[] { a, b, low, high, later }.Select(Status));

        // A slot frees: the higher priority goes first, although it came after 'low'.
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{JobPath(tenant, a)}/cancel", key, new { reason = "not needed" });
        Assert.Equal("scheduled", Status(await GetJobAsync(tenant, key, high)));
        Assert.Equal("pending", Status(await GetJobAsync(tenant, key, low)));

        // Next: the older of the two equal priorities.
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{JobPath(tenant, b)}/status", key, new { status = "running" });
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{JobPath(tenant, b)}/status", key, new { status = "completed" });
        Assert.Equal("scheduled", Status(await GetJobAsync(tenant, key, low)));
        Assert.Equal("pending", Status(await GetJobAsync(tenant, key, later)));

        var active = (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/training-jobs", key)).EnumerateArray()
            .Count(job => Status(job) is "scheduled" or "running");
        Assert.Equal(2, active);
    }

    [Fact]
    public async Task Bad_input_and_other_tenants_get_clear_4xx_and_change_nothing()
    {
        var (tenant, key) = await TenantWithModelAsync("jobbad", slots: 2);
        var (_, otherKey) = await platform.CreateTenantWithAdminAsync("jobthief");
        var jobs = $"/api/v1/tenants/{tenant}/training-jobs";
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, jobs, key, new { jobName = "x", modelName = "nope", datasetUri = "s3://d.csv" });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, jobs, key, new { jobName = "", modelName = "m", datasetUri = "s3://d.csv" });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, jobs, key, new { jobName = "x", modelName = "m", datasetUri = "s3://d.csv", config = new[] { 1 } });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, jobs, key, new { jobName = "x", modelName = "m", datasetUri = "s3://d.csv", priority = 5000 });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, jobs, key, "{\"jobName\": ");
        Assert.Empty((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, jobs, key)).EnumerateArray());

        var job = await CreateJobAsync(tenant, key, "mine");
        var path = JobPath(tenant, job);
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, path, otherKey);
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"{path}/cancel", otherKey);
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"{path}/metrics", otherKey, new { points = new[] { new { name = "loss", value = 1.0, step = 1 } } });
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{path}/metrics/loss", otherKey);
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{tenant}/training-jobs/{Guid.NewGuid()}", key);
        Assert.Equal("scheduled", Status(await GetJobAsync(tenant, key, job)));
    }

    private async Task<(string Tenant, string Key)> TenantWithModelAsync(string label, int slots)
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync(label, new Dictionary<string, long> { ["concurrent_training_jobs"] = slots });
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "m", modelType = "classifier", algorithm = "fasttree" });
        return (tenant, key);
    }

    private Task<JsonElement> CreateJobAsync(string tenant, string key, string name, int priority = 0) =>
        platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/training-jobs", key,
            new { jobName = name, modelName = "m", datasetUri = "s3://datasets/train.csv", hyperparameters = new { trees = 100 }, priority });

    private Task<JsonElement> GetJobAsync(string tenant, string key, JsonElement job) => platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, JobPath(tenant, job), key);

    private static string JobPath(string tenant, JsonElement job) => $"/api/v1/tenants/{tenant}/training-jobs/{job.GetProperty("id").GetString()}";

    private static string Status(JsonElement job) => job.GetProperty("status").GetString()!;
}
