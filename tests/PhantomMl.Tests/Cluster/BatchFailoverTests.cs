using System.Net;
using System.Text.Json;
using PhantomMl.Tests.Infrastructure;
using PhantomMl.Tests.Training;

namespace PhantomMl.Tests.Cluster;

/// <summary>A batch whose silo dies mid-run is started again on a surviving silo and completes with every row once.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class BatchFailoverTests(ClusterDatabasesFixture fixture)
{
    // Small chunks so the run lasts long enough to be cut; a short silence and a reminder every 5 s so the test does not
    // wait minutes (the mechanism is the same at the defaults); one S3 bucket so the dataset is readable from either silo.
    private static Dictionary<string, string> Settings() => new()
    {
        ["Phantom__Inference__BatchChunkRows"] = "100",
        ["Phantom__Inference__BatchParallelChunks"] = "1",
        ["Phantom__Inference__BatchSilentFor"] = "00:00:05",
        ["Phantom__Inference__BatchWatchInterval"] = "00:00:05",
        ["Phantom__Reminders__MinimumReminderPeriod"] = "00:00:05",
        ["ConnectionStrings__S3"] = ArtifactSilosFixture.S3ConnectionString,
    };

    [Fact]
    public async Task A_batch_whose_silo_dies_is_resumed_on_a_survivor_and_scores_every_row_once()
    {
        var clusterId = ClusterDatabasesFixture.NewClusterId();
        await using var first = await SiloProcess.StartAsync(clusterId, fixture.Databases, settings: Settings());
        await first.WaitUntilReadyAsync();
        var api = new PlatformApi(first);
        var (tenant, key) = await api.CreateTenantWithAdminAsync("batchfailover", new { inference_requests = 10_000_000 });
        await api.AddModelWithArtifactAsync(tenant, key, "m", "classifier", "fasttree", await SampleDatasets.TrainBinaryOnnxAsync(rows: 1000, seed: 9, trees: 10),
            "application/octet-stream", "1");
        const int Rows = 60_000;
        await api.AddModelWithArtifactAsync(tenant, key, "rows", "dataset", "csv", await SampleDatasets.GenerateAsync("binary", Rows, seed: 8), "text/csv", "1");

        // Submitted while the first silo is the only one: the batch and its run live there.
        var batch = await api.ExpectAsync(HttpStatusCode.Accepted, HttpMethod.Post, $"/api/v1/tenants/{tenant}/batches", key,
            new { model = "m", version = "1", datasetUri = "model://rows/versions/1" });
        var path = $"/api/v1/tenants/{tenant}/batches/{batch.GetProperty("id").GetString()}";
        await using var second = await SiloProcess.StartAsync(clusterId, fixture.Databases, settings: Settings());
        await second.WaitUntilReadyAsync();
        var midway = await PollAsync(second, path, key, b => b.GetProperty("processedRows").GetInt64() > 0, TimeSpan.FromMinutes(1));
        Assert.Equal("running", midway.GetProperty("status").GetString());
        Assert.True(midway.GetProperty("processedRows").GetInt64() < Rows, "the batch finished before its silo could be killed");
        first.Kill();

        // The batch's reminder (every 5 s here, every minute by default) finds it silent on the survivor and runs it again from the start.
        var done = await PollAsync(second, path, key, b => b.GetProperty("status").GetString() is "completed" or "failed", TimeSpan.FromMinutes(4));
        Assert.Equal(("completed", 2, (long)Rows, 0L), (done.GetProperty("status").GetString(), done.GetProperty("attempt").GetInt32(),
            done.GetProperty("processedRows").GetInt64(), done.GetProperty("failedRows").GetInt64()));
        var tenantId = Guid.Parse((await new PlatformApi(second).ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", key)).GetProperty("id").GetString()!);
        Assert.Equal(Rows, await TenantSql.ScalarAsync<long>(fixture.Databases.OwnerSource, tenantId,
            $"SELECT count(*) FROM inference_jobs WHERE batch_id = '{batch.GetProperty("id").GetString()}'")); // the lost attempt's rows are gone
        var output = await (await second.SendAsync(HttpMethod.Get, $"{path}/output", key)).Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Equal(Rows + 1, output.TrimEnd('\n').Split('\n').Length);
    }

    private static async Task<JsonElement> PollAsync(SiloProcess silo, string path, string key, Func<JsonElement, bool> until, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var response = await silo.SendAsync(HttpMethod.Get, path, key);
            if (response.IsSuccessStatusCode)
            {
                var batch = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                if (until(batch))
                {
                    return batch;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting on {path}");
            await Task.Delay(200);
        }
    }
}
