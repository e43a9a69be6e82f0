using Npgsql;
using PhantomMl.Grains.Adapters.Migrations;

namespace PhantomMl.Grains.Adapters.PostgreSql;

/// <summary>Applies the embedded PostgreSQL scripts, each in its own transaction, and records them in schema_migrations.</summary>
public sealed class PostgreSqlMigrations(NpgsqlDataSource dataSource) : IMigrationStore
{
    /// <inheritdoc />
    public string Store => "postgresql";

    /// <inheritdoc />
    public IReadOnlyList<MigrationScript> Scripts { get; } = MigrationScript.Load("postgresql");

    /// <inheritdoc />
    public async Task EnsureHistoryTableAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            CREATE TABLE IF NOT EXISTS schema_migrations
            (
                version    integer     NOT NULL PRIMARY KEY,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<int, string>> ReadAppliedAsync(CancellationToken cancellationToken)
    {
        var applied = new Dictionary<int, string>();
        await using var command = dataSource.CreateCommand("SELECT version, checksum FROM schema_migrations");
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                applied[reader.GetInt32(0)] = reader.GetString(1);
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            // A database never migrated has no history yet: nothing is applied.
        }

        return applied;
    }

    /// <inheritdoc />
    public async Task ApplyAsync(MigrationScript script, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var batch = new NpgsqlCommand(script.Sql, connection, transaction))
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var record = new NpgsqlCommand(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (@version, @name, @checksum)", connection, transaction))
        {
            record.Parameters.AddWithValue("version", script.Version);
            record.Parameters.AddWithValue("name", script.Name);
            record.Parameters.AddWithValue("checksum", script.Checksum);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task RecordChecksumAsync(MigrationScript script, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("UPDATE schema_migrations SET checksum = @checksum WHERE version = @version");
        command.Parameters.AddWithValue("version", script.Version);
        command.Parameters.AddWithValue("checksum", script.Checksum);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
