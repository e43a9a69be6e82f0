using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Adapters.ClickHouse;
using PhantomMl.Grains.Training;
using PhantomMl.Tests.Infrastructure;
using StackExchange.Redis;

namespace PhantomMl.Tests.Training;

/// <summary>The silo's shared metrics buffer against real ClickHouse: one tenant's batch that ClickHouse refuses never fails another tenant's.</summary>
public sealed class MetricsBufferTests
{
    [Fact]
    public async Task A_shared_insert_that_ClickHouse_refuses_is_split_by_tenant_and_only_the_offender_fails()
    {
        await using var databases = await MigratedDatabases.CreateAsync("buffer");
        var table = new TrainingMetricsTable(new ClickHouseConnections(databases.ClickHouse));
        using var redis = await ConnectionMultiplexer.ConnectAsync(TestServices.Redis);
        // A long gathering window, so both tenants' batches surely share one INSERT.
        var options = Options.Create(new MetricsBufferOptions { FlushInterval = TimeSpan.FromMilliseconds(300), FlushPoints = 1_000_000 });
        var buffer = new MetricsBuffer(table, redis, options, NullLogger<MetricsBuffer>.Instance);
        await buffer.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var (offender, victim, job) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
            var now = DateTimeOffset.UtcNow;
            // What the grains refuse now (a batch over 150 months), put straight into the buffer: ClickHouse refuses an INSERT
            // touching more than 100 monthly partitions, and once refused that INSERT used to fail every batch in it.
            var wide = Batch("wide", Enumerable.Range(0, 150).Select(month => now.AddMonths(-month)));
            var normal = Batch("normal", Enumerable.Range(0, 10).Select(second => now.AddSeconds(-second)));

            var offending = buffer.WriteAsync(offender, job, wide);
            var innocent = buffer.WriteAsync(victim, job, normal);

            var refused = await Assert.ThrowsAsync<PhantomException>(() => offending);
            Assert.Equal(503, refused.Status);
            await innocent;
            Assert.Equal(10, (await table.HistoryAsync(victim, job, "loss", 100, cancellationToken: TestContext.Current.CancellationToken)).TotalPoints);
            Assert.Equal(0, (await table.HistoryAsync(offender, job, "loss", 100, cancellationToken: TestContext.Current.CancellationToken)).TotalPoints);
        }
        finally
        {
            await buffer.StopAsync(CancellationToken.None);
        }
    }

    private static MetricBatch Batch(string id, IEnumerable<DateTimeOffset> times)
    {
        var builder = new MetricBatchBuilder(16);
        var step = 0;
        foreach (var time in times)
        {
            builder.Add("loss", 0.5, step++, time.ToUnixTimeMilliseconds());
        }

        return builder.Build($"{id}-{Guid.NewGuid():N}");
    }
}
