using System.Text.Json;
using PhantomMl.Grains.Adapters.ClickHouse;
using PhantomMl.Grains.Analytics;
using PhantomMl.Tests.Infrastructure;
using StackExchange.Redis;

namespace PhantomMl.Tests.Analytics;

/// <summary>Each silo samples its own resources into ClickHouse (history) and Redis (live values with a TTL).</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class ResourceMetricsTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    [Fact]
    public async Task A_running_silo_writes_its_resource_samples_with_no_made_up_GPU_value()
    {
        var connections = new ClickHouseConnections(platform.Databases.ClickHouse);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(45);
        (ulong Rows, string Silo, float MaxCpu, uint MinMemory, ulong GpuNulls, string Cores) found = (0, "", 0, 0, 0, "");
        while (found.Rows < 2)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "no two resource samples within 45 s (the test silos sample every 5 s)");
            await Task.Delay(1000, TestContext.Current.CancellationToken);
            using var connection = connections.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT count(), any(resource_id), max(cpu_percent), min(memory_mb), countIf(gpu_utilization IS NULL), any(metadata['cores'])
                  FROM resource_metrics WHERE resource_type = 'silo' AND tenant_id = ''
                """;
            using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
            await reader.ReadAsync(TestContext.Current.CancellationToken);
            found = (Convert.ToUInt64(reader.GetValue(0)), reader.GetString(1), Convert.ToSingle(reader.GetValue(2)), Convert.ToUInt32(reader.GetValue(3)),
                Convert.ToUInt64(reader.GetValue(4)), reader.GetString(5));
        }

        Assert.Equal(found.Rows, found.GpuNulls); // no GPU here: NULL, not zero
        Assert.InRange(found.MaxCpu, 0f, 100f);
        Assert.InRange(found.MinMemory, 20u, 64u * 1024);
        Assert.Equal(Environment.ProcessorCount.ToString(), found.Cores);

        // The live values of that silo, expiring on their own.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(TestServices.Redis);
        var key = ResourceMetricsCollector.LiveKey(found.Silo);
        var live = await redis.GetDatabase().StringGetAsync(key);
        Assert.True(live.HasValue, $"{key} is not in Redis");
        using var document = JsonDocument.Parse(live.ToString());
        Assert.Equal(found.Silo, document.RootElement.GetProperty("silo").GetString());
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("gpuUtilization").ValueKind);
        var ttl = await redis.GetDatabase().KeyTimeToLiveAsync(key);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15));
    }
}
