using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using PhantomMl.Tests.Infrastructure;
using PhantomMl.Tests.Training;

namespace PhantomMl.Tests.Audit;

/// <summary>
/// Lineage the platform writes by itself: a dataset feeds a training job, the job registers a version, the version is
/// promoted to an alias and scores a batch; the walks up and down find exactly those edges, and the registry agrees.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class LineageTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    private const string Dataset = "model://churn-data/versions/1";

    [Fact]
    public async Task Dataset_job_version_alias_and_batch_are_linked_and_walked_both_ways_within_the_tenant()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("lineage");
        var api = $"/api/v1/tenants/{tenant}";
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{api}/models", key,
            new { name = "churn-data", modelType = "dataset", algorithm = "none" });
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{api}/models/churn-data/versions", key, new { version = "1" });
        var csv = new ByteArrayContent(await SampleDatasets.GenerateAsync("binary", 400));
        csv.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Put, $"{api}/models/churn-data/versions/1/artifact", key, csv);
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{api}/models", key,
            new { name = "churn", modelType = "classifier", algorithm = "fasttree" });

        var job = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{api}/training-jobs", key, new
        {
            jobName = "lineage-run", modelName = "churn", datasetUri = Dataset,
            config = new { trainer = "builtin", task = "binary-classification", algorithm = "fasttree", rounds = 1 },
            hyperparameters = new { trees = 10 },
        });
        var jobId = job.GetProperty("id").GetString()!;
        job = await WaitForCompletedAsync($"{api}/training-jobs/{jobId}", key);
        var version = JsonDocument.Parse(job.GetProperty("metricsSummary").GetString()!).RootElement.GetProperty("version").GetString()!;
        var model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{api}/models/churn", key);
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"{api}/models/churn/aliases/prod", key, new { version },
            new Dictionary<string, string> { ["If-Match"] = $"\"{model.GetProperty("eTag").GetInt64()}\"" });
        var batch = await platform.ExpectAsync(HttpStatusCode.Accepted, HttpMethod.Post, $"{api}/batches", key,
            new { model = "churn", version = "prod", datasetUri = Dataset });
        var batchId = batch.GetProperty("id").GetString()!;
        var versionNode = $"churn/versions/{version}";

        // Downstream of the dataset: everything it fed, each at its distance.
        var downstream = Links(await TraceAsync(tenant, key, "dataset", Dataset, "downstream", depth: 5));
        Assert.Contains(("training_job", jobId, "dataset", Dataset, "training-input", 1), downstream);
        Assert.Contains(("batch_output", batchId, "dataset", Dataset, "batch-input", 1), downstream);
        Assert.Contains(("model_version", versionNode, "training_job", jobId, "trained", 2), downstream);
        Assert.Contains(("alias", "churn/aliases/prod", "model_version", versionNode, "promoted", 3), downstream);
        Assert.Contains(("batch_output", batchId, "model_version", versionNode, "batch-inference", 3), downstream);

        // Upstream of the batch output: the version that scored it, the job that trained it, the data both read.
        var upstream = Links(await TraceAsync(tenant, key, "batch_output", batchId, "upstream", depth: 5));
        Assert.Equal(
            [("batch_output", batchId, "dataset", Dataset, "batch-input", 1), ("batch_output", batchId, "model_version", versionNode, "batch-inference", 1),
             ("model_version", versionNode, "training_job", jobId, "trained", 2), ("training_job", jobId, "dataset", Dataset, "training-input", 3)],
            upstream.Order().ToList());

        // The depth bound holds; a narrow limit says it cut the walk short.
        Assert.All(Links(await TraceAsync(tenant, key, "dataset", Dataset, "downstream", depth: 1)), link => Assert.Equal(1, link.Depth));
        var cut = await TraceAsync(tenant, key, "dataset", Dataset, "downstream", depth: 5, limit: 2);
        Assert.True(cut.GetProperty("truncated").GetBoolean());
        Assert.Equal(2, cut.GetProperty("links").GetArrayLength());

        // The registry's model lineage (the trainer records churn derived from churn-data) is the same edge here.
        var registry = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{api}/models/churn/lineage", key);
        var registryParents = registry.GetProperty("ancestors").EnumerateArray()
            .Select(e => (e.GetProperty("model").GetString(), e.GetProperty("parentModel").GetString(), e.GetProperty("lineageType").GetString()))
            .ToList();
        var modelParents = Links(await TraceAsync(tenant, key, "model", "churn", "upstream", depth: 5))
            .Where(l => l.Type == "model" && l.ParentType == "model").Select(l => ((string?)l.Id, (string?)l.ParentId, (string?)l.Transformation))
            .ToList();
        Assert.Equal([("churn", "churn-data", "derived")], registryParents);
        Assert.Equal(registryParents, modelParents);

        // An auditor reads lineage; another tenant's admin finds nothing there; bad queries are 400.
        var auditor = await platform.AddUserWithKeyAsync(tenant, "auditor", ["auditor"]);
        Assert.NotEmpty(Links(await TraceAsync(tenant, auditor, "training_job", jobId, "downstream", depth: 2)));
        var (other, otherKey) = await platform.CreateTenantWithAdminAsync("lineage-other");
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, Query(tenant, "dataset", Dataset, "downstream", 5, 10), otherKey);
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, Query(other, "dataset", Dataset, "downstream", 5, 10), otherKey);
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, Query(tenant, "training_job", Guid.NewGuid().ToString(), "upstream", 5, 10), key);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, Query(tenant, "dataset", Dataset, "sideways", 5, 10), key);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, Query(tenant, "dataset", Dataset, "upstream", 21, 10), key);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, Query(tenant, "table", "x", "upstream", 5, 10), key);

        // A version may name the job that trained it only if the job is the tenant's own.
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{api}/models/churn/versions", key,
            new { version = "claimed", trainingJobId = Guid.NewGuid() });
    }

    private Task<JsonElement> TraceAsync(string tenant, string key, string type, string id, string direction, int depth, int limit = 500) =>
        platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, Query(tenant, type, id, direction, depth, limit), key);

    private static string Query(string tenant, string type, string id, string direction, int depth, int limit) =>
        $"/api/v1/tenants/{tenant}/lineage?resourceType={type}&resourceId={Uri.EscapeDataString(id)}&direction={direction}&depth={depth}&limit={limit}";

    private static List<(string Type, string Id, string ParentType, string ParentId, string Transformation, int Depth)> Links(JsonElement trace) =>
        trace.GetProperty("links").EnumerateArray().Select(l => (l.GetProperty("resourceType").GetString()!, l.GetProperty("resourceId").GetString()!,
            l.GetProperty("parentType").GetString()!, l.GetProperty("parentId").GetString()!, l.GetProperty("transformation").GetString()!,
            l.GetProperty("depth").GetInt32())).ToList();

    private async Task<JsonElement> WaitForCompletedAsync(string path, string key)
    {
        var deadline = DateTimeOffset.UtcNow.AddMinutes(3);
        while (true)
        {
            var job = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, path, key);
            var status = job.GetProperty("status").GetString();
            if (status == "completed")
            {
                return job;
            }

            Assert.False(status is "failed" or "cancelled", $"the job became {status}: {job.GetProperty("errorMessage")}");
            Assert.True(DateTimeOffset.UtcNow < deadline, $"the job is still {status} after 3 minutes");
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }
    }
}
