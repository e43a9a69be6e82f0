using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using PhantomMl.Grains.Adapters;
using PhantomMl.Grains.Adapters.ClickHouse;
using PhantomMl.Grains.Adapters.Migrations;

namespace PhantomMl.Tests.Infrastructure;

/// <summary>
/// A new PostgreSQL and ClickHouse database pair, migrated by the platform's own migrator as the schema
/// owner; dropped on dispose. <see cref="AppSource"/> connects as the application role, as the silos do.
/// </summary>
public sealed class MigratedDatabases : IAsyncDisposable
{
    private readonly string _name;

    private MigratedDatabases(string name, string clickHouse)
    {
        _name = name;
        PostgreSql = TestServices.PostgreSqlFor(name);
        PostgreSqlOwner = TestServices.PostgreSqlFor(name, asOwner: true);
        Membership = TestServices.PostgreSqlMembershipFor(name);
        ClickHouse = clickHouse;
        AppSource = NpgsqlDataSource.Create(PostgreSql);
        OwnerSource = NpgsqlDataSource.Create(PostgreSqlOwner);
    }

    /// <summary>Connection string of the PostgreSQL database, as the application role.</summary>
    public string PostgreSql { get; }

    /// <summary>Connection string of the PostgreSQL database, as the schema owner.</summary>
    public string PostgreSqlOwner { get; }

    /// <summary>Connection string of the PostgreSQL database as the membership-only role: what SDK clients connect with.</summary>
    public string Membership { get; }

    /// <summary>Connection string of the ClickHouse database.</summary>
    public string ClickHouse { get; }

    /// <summary>The database as the application role (phantom_app).</summary>
    public NpgsqlDataSource AppSource { get; }

    /// <summary>The database as the schema owner (for inspecting the catalog; bound by FORCE RLS too).</summary>
    public NpgsqlDataSource OwnerSource { get; }

    /// <summary>Creates both databases; migrates them unless <paramref name="migrate"/> is false.</summary>
    public static async Task<MigratedDatabases> CreateAsync(string purpose, bool migrate = true)
    {
        var name = await TestServices.CreatePostgreSqlDatabaseAsync(purpose);
        var databases = new MigratedDatabases(name, TestServices.NewClickHouseDatabase(purpose));
        if (migrate)
        {
            await databases.CreateMigrator().MigrateAsync();
        }

        return databases;
    }

    /// <summary>A migrator over both databases, as the silo builds it; as the owner unless another source is given.</summary>
    public SchemaMigrator CreateMigrator(NpgsqlDataSource? dataSource = null) =>
        PlatformSchema.CreateMigrator(dataSource ?? OwnerSource, new ClickHouseConnections(ClickHouse), NullLogger<SchemaMigrator>.Instance);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await AppSource.DisposeAsync();
        await OwnerSource.DisposeAsync();
        await TestServices.DropPostgreSqlDatabaseAsync(_name);
        await TestServices.DropClickHouseDatabaseAsync(ClickHouse);
    }
}
