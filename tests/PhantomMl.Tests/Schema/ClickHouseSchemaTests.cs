using ClickHouse.Driver.ADO;
using PhantomMl.Grains.Adapters.ClickHouse;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Schema;

public sealed class ClickHouseSchemaTests
{
    [Fact]
    public async Task Training_metrics_return_DateTime64_and_Map_values_exactly()
    {
        await using var databases = await MigratedDatabases.CreateAsync("chmap");
        await using var connection = new ClickHouseConnections(databases.ClickHouse).Open();
        // Relative to now: the table's TTL removes rows older than two years on merge.
        var at = DateTime.UtcNow.AddMinutes(-5);
        at = at.AddTicks(-(at.Ticks % TimeSpan.TicksPerMillisecond)); // DateTime64(3) keeps whole milliseconds
        var metadata = new Dictionary<string, string> { ["optimizer"] = "adam", ["note"] = "ünïcode, quotes ' \" and = signs" };

        await using (var insert = connection.CreateCommand())
        {
            insert.CommandText = """
                INSERT INTO training_metrics (timestamp, tenant_id, training_job_id, epoch, batch, metric_name, metric_value, metadata)
                VALUES ({at:DateTime64(3)}, 't1', 'job-1', 3, 17, 'loss', 0.125, {metadata:Map(String, String)})
                """;
            insert.AddParameter("at", at);
            insert.AddParameter("metadata", metadata);
            await insert.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        await using var select = connection.CreateCommand();
        select.CommandText = "SELECT timestamp, metadata, metric_value, toTypeName(timestamp) FROM training_metrics WHERE training_job_id = 'job-1'";
        await using var reader = await select.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        Assert.True(await reader.ReadAsync(TestContext.Current.CancellationToken));
        Assert.Equal(at, ToUtc(reader.GetValue(0)));
        var map = Assert.IsAssignableFrom<IDictionary<string, string>>(reader.GetValue(1));
        Assert.Equal(metadata.OrderBy(kv => kv.Key), map.OrderBy(kv => kv.Key));
        Assert.Equal(0.125, reader.GetDouble(2));
        Assert.StartsWith("DateTime64(3", reader.GetString(3));
    }

    [Fact]
    public async Task Every_metrics_table_accepts_DateTime64_and_Map_rows()
    {
        await using var databases = await MigratedDatabases.CreateAsync("chall");
        await using var connection = new ClickHouseConnections(databases.ClickHouse).Open();
        string[] inserts =
        [
            "INSERT INTO inference_metrics (timestamp, tenant_id, model_id, model_version, inference_time_ms, confidence_score, input_features_count, prediction_type, user_id, session_id, metadata) VALUES (now64(3), 't', 'm', '1', 12, 0.9, 4, 'classification', 'u', 's', map('k', 'v'))",
            "INSERT INTO performance_metrics VALUES (now64(3), 't', 'inference', 'p99_ms', 4.5, map('region', 'eu'), map('silo', 'a'))",
            "INSERT INTO resource_metrics VALUES (now64(3), 't', 'silo', 's1', 55.5, 2048, 1.5, 0.5, 0, map('host', 'h'))",
        ];
        foreach (var sql in inserts)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        foreach (var table in new[] { "inference_metrics", "performance_metrics", "resource_metrics" })
        {
            await using var count = connection.CreateCommand();
            count.CommandText = $"SELECT count() FROM {table} WHERE toTypeName(timestamp) = 'DateTime64(3)'";
            Assert.Equal(1UL, Convert.ToUInt64(await count.ExecuteScalarAsync(TestContext.Current.CancellationToken)));
        }
    }

    [Fact]
    public async Task Hourly_rollup_stays_correct_after_its_parts_merge()
    {
        await using var databases = await MigratedDatabases.CreateAsync("chroll");
        await using var connection = new ClickHouseConnections(databases.ClickHouse).Open();
        var hour = DateTime.UtcNow.AddHours(-1).ToString("yyyy-MM-dd HH:00:00");

        // Two inserts make two parts in the rollup; merging them is where a SummingMergeTree of averages goes wrong.
        await ExecuteAsync(connection, $"INSERT INTO training_metrics (timestamp, tenant_id, training_job_id, metric_name, metric_value) VALUES ('{hour}.100', 't', 'j', 'acc', 1), ('{hour}.200', 't', 'j', 'acc', 2), ('{hour}.300', 't', 'j', 'acc', 3)");
        await ExecuteAsync(connection, $"INSERT INTO training_metrics (timestamp, tenant_id, training_job_id, metric_name, metric_value) VALUES ('{hour}.400', 't', 'j', 'acc', 10)");
        await ExecuteAsync(connection, "OPTIMIZE TABLE training_metrics_hourly FINAL");

        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT avgMerge(avg_value), min(min_value), max(max_value), sum(sample_count), count()
            FROM training_metrics_hourly WHERE tenant_id = 't' AND training_job_id = 'j' GROUP BY hour
            """;
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        Assert.True(await reader.ReadAsync(TestContext.Current.CancellationToken));
        Assert.Equal(4.0, reader.GetDouble(0));
        Assert.Equal(1.0, reader.GetDouble(1));
        Assert.Equal(10.0, reader.GetDouble(2));
        Assert.Equal(4UL, Convert.ToUInt64(reader.GetValue(3)));
        Assert.False(await reader.ReadAsync(TestContext.Current.CancellationToken));
    }

    private static async Task ExecuteAsync(ClickHouseConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static DateTime ToUtc(object value) => value switch
    {
        DateTime dateTime => dateTime.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(dateTime, DateTimeKind.Utc) : dateTime.ToUniversalTime(),
        DateTimeOffset offset => offset.UtcDateTime,
        _ => throw new InvalidOperationException($"Unexpected timestamp type {value.GetType()}"),
    };
}
