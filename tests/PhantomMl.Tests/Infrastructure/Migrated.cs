using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using PhantomMl.Grains.Adapters.ClickHouse;
using PhantomMl.Grains.Adapters.Migrations;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Tests.Infrastructure;

/// <summary>A new PostgreSQL and ClickHouse database pair, migrated by the platform's own migrator; dropped on dispose.</summary>
public sealed class MigratedDatabases : IAsyncDisposable
{
    private MigratedDatabases(string postgreSql, string clickHouse, NpgsqlDataSource dataSource)
    {
        PostgreSql = postgreSql;
        ClickHouse = clickHouse;
        DataSource = dataSource;
    }

    /// <summary>Connection string of the PostgreSQL database.</summary>
    public string PostgreSql { get; }

    /// <summary>Connection string of the ClickHouse database.</summary>
    public string ClickHouse { get; }

    /// <summary>A data source on the PostgreSQL database.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>Creates both databases; migrates them unless <paramref name="migrate"/> is false.</summary>
    public static async Task<MigratedDatabases> CreateAsync(string purpose, bool migrate = true)
    {
        var postgreSql = await TestServices.CreatePostgreSqlDatabaseAsync(purpose);
        var databases = new MigratedDatabases(postgreSql, TestServices.NewClickHouseDatabase(purpose), NpgsqlDataSource.Create(postgreSql));
        if (migrate)
        {
            await databases.CreateMigrator().MigrateAsync();
        }

        return databases;
    }

    /// <summary>A migrator over both databases, as the silo builds it.</summary>
    public SchemaMigrator CreateMigrator(NpgsqlDataSource? dataSource = null)
    {
        dataSource ??= DataSource;
        IMigrationStore[] stores = [new PostgreSqlMigrations(dataSource), new ClickHouseMigrations(new ClickHouseConnections(ClickHouse))];
        return new SchemaMigrator(dataSource, stores, NullLogger<SchemaMigrator>.Instance);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        await TestServices.DropPostgreSqlDatabaseAsync(PostgreSql);
        await TestServices.DropClickHouseDatabaseAsync(ClickHouse);
    }
}
