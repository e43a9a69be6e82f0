using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using PhantomMl.Tests.Infrastructure;
using PhantomMl.Tests.Training;

namespace PhantomMl.Tests.Cluster;

/// <summary>A silo killed in the middle of a built-in training run does not leave its job stuck in "running".</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class TrainingFailoverTests(ClusterDatabasesFixture fixture)
{
    // Short heartbeats so the test does not wait minutes (the mechanism is the same at the defaults), and one S3
    // bucket for both silos: the dataset must be readable from whichever silo runs the job, as on separate hosts.
    private static Dictionary<string, string> ClusterSettings() => new()
    {
        ["Phantom__Training__HeartbeatInterval"] = "00:00:01",
        ["Phantom__Training__HeartbeatTimeout"] = "00:00:05",
        ["ConnectionStrings__S3"] = ArtifactSilosFixture.S3ConnectionString,
    };

    [Fact]
    public async Task A_job_whose_silo_dies_mid_run_is_failed_and_retried_on_a_surviving_silo()
    {
        var clusterId = ClusterDatabasesFixture.NewClusterId();
        await using var first = await SiloProcess.StartAsync(clusterId, fixture.Databases, settings: ClusterSettings());
        await using var second = await SiloProcess.StartAsync(clusterId, fixture.Databases, settings: ClusterSettings());
        await Task.WhenAll(first.WaitUntilReadyAsync(), second.WaitUntilReadyAsync());
        var api = new PlatformApi(first);
        var (tenant, key) = await api.CreateTenantWithAdminAsync("failover");
        await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key, new { name = "data", modelType = "dataset", algorithm = "none" });
        await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/data/versions", key, new { version = "1" });
        var csv = new ByteArrayContent(await SampleDatasets.GenerateAsync("binary", 20_000));
        csv.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Put, $"/api/v1/tenants/{tenant}/models/data/versions/1/artifact", key, csv);
        await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key, new { name = "m", modelType = "classifier", algorithm = "fasttree" });
        var job = await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/training-jobs", key, new
        {
            jobName = "long", modelName = "m", datasetUri = "model://data/versions/1",
            config = new { trainer = "builtin", task = "binary-classification", algorithm = "fasttree", rounds = 50 },
            hyperparameters = new { trees = 2000 },
        });
        var path = $"/api/v1/tenants/{tenant}/training-jobs/{job.GetProperty("id").GetString()}";

        var running = await PollAsync([first, second], path, key, j => j.GetProperty("status").GetString() == "running", "the first attempt to run");
        var runner = running.GetProperty("runner").GetString()!;
        var (victim, survivor) = runner.EndsWith($"silo-{first.Endpoints.SiloPort}", StringComparison.Ordinal) ? (first, second) : (second, first);
        Assert.Equal($"builtin@silo-{victim.Endpoints.SiloPort}", runner);
        victim.Kill();

        // The watchdog normally ticks every minute; an operator's "now" is the same check.
        var retried = await PollAsync([survivor], path, key, j => j.GetProperty("attempt").GetInt32() == 2 && j.GetProperty("status").GetString() == "running",
            "the second attempt to run on the survivor", poke: () => survivor.SendAsync(HttpMethod.Post, "/api/v1/maintenance/training-watchdog", survivor.AdminKey));
        Assert.Equal($"builtin@silo-{survivor.Endpoints.SiloPort}", retried.GetProperty("runner").GetString());

        var audit = await new PlatformApi(survivor).AuditAsync(tenant);
        Assert.Contains(audit, row => row.GetProperty("action").GetString() == "recover" && row.GetProperty("userId").GetString() == "system:training-watchdog");
        await new PlatformApi(survivor).ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/cancel", key);
    }

    /// <summary>Reads the job through any live silo until <paramref name="done"/>; 503s while the cluster notices a death are expected.</summary>
    private static async Task<JsonElement> PollAsync(SiloProcess[] silos, string path, string key, Func<JsonElement, bool> done, string what,
        Func<Task<HttpResponseMessage>>? poke = null)
    {
        var deadline = DateTimeOffset.UtcNow.AddMinutes(2);
        string last = "nothing yet";
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (poke is not null)
            {
                using var _ = await poke();
            }

            foreach (var silo in silos.Where(s => s.IsRunning))
            {
                using var response = await silo.SendAsync(HttpMethod.Get, path, key);
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}";
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var job = JsonDocument.Parse(last[4..]).RootElement.Clone();
                    Assert.NotEqual("completed", job.GetProperty("status").GetString());
                    if (done(job))
                    {
                        return job;
                    }
                }
            }

            await Task.Delay(500, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"Waited 2 minutes for {what}; last answer: {last}");
    }
}
