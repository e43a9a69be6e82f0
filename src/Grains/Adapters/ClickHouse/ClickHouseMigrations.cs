using System.Data.Common;
using PhantomMl.Grains.Adapters.Migrations;

namespace PhantomMl.Grains.Adapters.ClickHouse;

/// <summary>
/// Applies the embedded ClickHouse scripts. ClickHouse has no transactional DDL, so every statement is
/// written to be repeatable (IF NOT EXISTS), and the history table is a ReplacingMergeTree: a script
/// interrupted half-way is simply applied again on the next run.
/// </summary>
public sealed class ClickHouseMigrations(ClickHouseConnections connections) : IMigrationStore
{
    /// <inheritdoc />
    public string Store => "clickhouse";

    /// <inheritdoc />
    public IReadOnlyList<MigrationScript> Scripts { get; } = MigrationScript.Load("clickhouse");

    /// <inheritdoc />
    public async Task EnsureHistoryTableAsync(CancellationToken cancellationToken)
    {
        await using (var server = connections.OpenServerConnection())
        {
            await ExecuteAsync(server, $"CREATE DATABASE IF NOT EXISTS `{connections.Database}`", cancellationToken);
        }

        await using var connection = connections.Open();
        await ExecuteAsync(connection, """
            CREATE TABLE IF NOT EXISTS schema_migrations
            (
                version    UInt32,
                name       String,
                checksum   String,
                applied_at DateTime64(3) DEFAULT now64(3)
            )
            ENGINE = ReplacingMergeTree(applied_at)
            ORDER BY version
            """, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<int, string>> ReadAppliedAsync(CancellationToken cancellationToken)
    {
        var applied = new Dictionary<int, string>();
        await using var connection = connections.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT version, argMax(checksum, applied_at) FROM schema_migrations GROUP BY version
            """;
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                applied[Convert.ToInt32(reader.GetValue(0))] = reader.GetString(1);
            }
        }
        catch (Exception e) when (IsMissingObject(e))
        {
            // Neither database nor history exists yet: nothing is applied.
        }

        return applied;
    }

    /// <inheritdoc />
    public async Task ApplyAsync(MigrationScript script, CancellationToken cancellationToken)
    {
        await using var connection = connections.Open();
        foreach (var statement in SplitStatements(script.Sql))
        {
            await ExecuteAsync(connection, statement, cancellationToken);
        }

        await RecordAsync(connection, script, cancellationToken);
    }

    /// <inheritdoc />
    public async Task RecordChecksumAsync(MigrationScript script, CancellationToken cancellationToken)
    {
        // The history keeps the latest row per version (ReplacingMergeTree by applied_at, read with argMax).
        await using var connection = connections.Open();
        await RecordAsync(connection, script, cancellationToken);
    }

    private static async Task RecordAsync(DbConnection connection, MigrationScript script, CancellationToken cancellationToken)
    {
        await using var record = connection.CreateCommand();
        record.CommandText = "INSERT INTO schema_migrations (version, name, checksum) VALUES ({version:UInt32}, {name:String}, {checksum:String})";
        record.AddParameter("version", (uint)script.Version);
        record.AddParameter("name", script.Name);
        record.AddParameter("checksum", script.Checksum);
        await record.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The HTTP interface runs one statement per request: scripts are split at lines ending in ';'.</summary>
    internal static IEnumerable<string> SplitStatements(string sql)
    {
        var current = new List<string>();
        foreach (var line in sql.Split('\n'))
        {
            var trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith("--", StringComparison.Ordinal))
            {
                continue;
            }

            current.Add(line);
            if (trimmed.EndsWith(';'))
            {
                yield return string.Join('\n', current).TrimEnd().TrimEnd(';');
                current.Clear();
            }
        }

        if (current.Count > 0)
        {
            yield return string.Join('\n', current);
        }
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static bool IsMissingObject(Exception e) =>
        e.Message.Contains("UNKNOWN_DATABASE", StringComparison.Ordinal) || e.Message.Contains("UNKNOWN_TABLE", StringComparison.Ordinal);
}
