using Microsoft.Extensions.Logging;
using Npgsql;
using PhantomMl.Grains.Adapters.ClickHouse;
using PhantomMl.Grains.Adapters.Migrations;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Adapters;

/// <summary>The platform's schema: the numbered migrations of PostgreSQL and of ClickHouse, applied in that order.</summary>
public static class PlatformSchema
{
    /// <summary>
    /// A migrator over both stores. Give it the schema owner's data source to migrate; the application's data source
    /// is enough to read what is pending.
    /// </summary>
    public static SchemaMigrator CreateMigrator(NpgsqlDataSource postgreSql, ClickHouseConnections clickHouse, ILogger<SchemaMigrator> logger) =>
        new(postgreSql, [new PostgreSqlMigrations(postgreSql), new ClickHouseMigrations(clickHouse)], logger);
}
