using System.Net;
using PhantomMl.Grains.Adapters.ClickHouse;
using PhantomMl.Tests.Infrastructure;
using PhantomMl.Tests.Training;

namespace PhantomMl.Tests.Cluster;

/// <summary>What a silo holds for its requests (queued records, an unused block of request quota) is not lost when it stops.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class InferenceShutdownTests(ClusterDatabasesFixture fixture)
{
    [Fact]
    public async Task A_stopping_silo_writes_its_queued_records_and_gives_unused_quota_back()
    {
        // Records are written at most every 30 s here, so all of them are still queued when the silo is told to stop.
        var settings = new Dictionary<string, string> { ["Phantom__Inference__RecordInterval"] = "00:00:30" };
        await using var silo = await SiloProcess.StartAsync(ClusterDatabasesFixture.NewClusterId(), fixture.Databases, settings: settings);
        await silo.WaitUntilReadyAsync();
        var api = new PlatformApi(silo);
        var (tenant, key) = await api.CreateTenantWithAdminAsync("shutdown");
        await api.AddModelWithArtifactAsync(tenant, key, "m", "classifier", "fasttree", await SampleDatasets.TrainBinaryOnnxAsync(rows: 1000, seed: 9, trees: 10),
            "application/octet-stream", "1");
        var tenantId = Guid.Parse((await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", key)).GetProperty("id").GetString()!);

        const int Requests = 40;
        for (var i = 0; i < Requests; i++)
        {
            await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/m/versions/1/predict", key,
                new { rows = new[] { new Dictionary<string, double> { ["x1"] = i, ["x2"] = 1, ["x3"] = 2, ["x4"] = 3, ["x5"] = 4 } }, bypassCache = true });
        }

        Assert.Equal(0L, await JobRowsAsync(tenantId)); // still queued
        Assert.True(await UsedRequestsAsync(tenantId) > Requests); // a block is reserved ahead

        await silo.StopAsync();

        Assert.Equal(Requests, await JobRowsAsync(tenantId));
        await using var connection = new ClickHouseConnections(fixture.Databases.ClickHouse).Open();
        await using var count = connection.CreateCommand();
        count.CommandText = $"SELECT count() FROM inference_metrics WHERE tenant_id = '{tenantId}'";
        Assert.Equal((ulong)Requests, Convert.ToUInt64(await count.ExecuteScalarAsync(TestContext.Current.CancellationToken)));
        Assert.Equal(Requests, await UsedRequestsAsync(tenantId));
    }

    private Task<long> JobRowsAsync(Guid tenantId) =>
        TenantSql.ScalarAsync<long>(fixture.Databases.OwnerSource, tenantId, "SELECT count(*) FROM inference_jobs");

    private Task<long> UsedRequestsAsync(Guid tenantId) =>
        TenantSql.ScalarAsync<long>(fixture.Databases.OwnerSource, tenantId,
            "SELECT coalesce(sum(usage_amount), 0)::bigint FROM tenant_resource_usage WHERE resource_type = 'inference_requests' AND period_end > now()");

}
