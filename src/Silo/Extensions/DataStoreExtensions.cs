using Microsoft.Extensions.Options;
using Npgsql;
using PhantomMl.Grains.Adapters;
using PhantomMl.Grains.Adapters.ClickHouse;
using PhantomMl.Grains.Adapters.Migrations;
using PhantomMl.Grains.Adapters.PostgreSql;
using StackExchange.Redis;

namespace PhantomMl.Silo.Extensions;

/// <summary>Clients of the external stores, each from a connection string in <c>ConnectionStrings</c>.</summary>
public static class DataStoreExtensions
{
    /// <summary>Registers PostgreSQL, ClickHouse and Redis clients and the schema migrator.</summary>
    public static WebApplicationBuilder AddPhantomDataStores(this WebApplicationBuilder builder)
    {
        var postgreSql = builder.RequireConnectionString("PostgreSql");
        var clickHouse = builder.RequireConnectionString("ClickHouse");
        var redis = builder.RequireConnectionString("Redis");

        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(postgreSql));
        builder.Services.AddSingleton<TenantDatabase>();
        builder.Services.AddSingleton(new ClickHouseConnections(clickHouse));
        builder.Services.AddSingleton<IConnectionMultiplexer>(_ =>
        {
            // Redis is a cache: the silo starts and serves without it, and reconnects when it returns.
            var options = ConfigurationOptions.Parse(redis);
            options.AbortOnConnectFail = false;
            return ConnectionMultiplexer.Connect(options);
        });

        // Reads what is pending (health); migrating uses the owner's connection, see MigrateAsync.
        builder.Services.AddSingleton(services => PlatformSchema.CreateMigrator(
            services.GetRequiredService<NpgsqlDataSource>(), services.GetRequiredService<ClickHouseConnections>(),
            services.GetRequiredService<ILogger<SchemaMigrator>>()));
        builder.Services.AddOptions<SchemaOptions>().BindConfiguration(SchemaOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>The <c>migrate</c> command: applies pending migrations to every store, then exits.</summary>
    public static async Task<int> MigrateAndExitAsync(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PhantomMl.Migrations");
        try
        {
            foreach (var result in await app.MigrateAsync(CancellationToken.None))
            {
                Console.WriteLine($"{result.Store}: version {result.CurrentVersion}, applied {result.Applied.Count}: " +
                    $"{string.Join(", ", result.Applied)}");
            }

            return 0;
        }
        catch (Exception e)
        {
            logger.LogError(e, "Migration failed");
            return 1;
        }
    }

    /// <summary>Applies pending migrations before the silo starts, when <see cref="SchemaOptions.ApplyOnStartup"/> is set.</summary>
    public static async Task MigrateOnStartupIfEnabledAsync(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<SchemaOptions>>().Value;
        if (options.ApplyOnStartup)
        {
            // Orleans' own tables are among the migrations, so they must exist before the silo starts.
            await app.MigrateAsync(app.Lifetime.ApplicationStopping);
        }
    }

    /// <summary>Migrates as the schema owner (<c>ConnectionStrings:PostgreSqlMigrations</c>); the application role cannot.</summary>
    private static async Task<IReadOnlyList<MigrationResult>> MigrateAsync(this WebApplication app, CancellationToken cancellationToken)
    {
        var owner = app.Configuration.GetConnectionString("PostgreSqlMigrations");
        if (string.IsNullOrWhiteSpace(owner))
        {
            throw new InvalidOperationException(
                "ConnectionStrings:PostgreSqlMigrations (the schema owner's connection) is not set; migrations never run as the application role.");
        }

        await using var ownerSource = NpgsqlDataSource.Create(owner);
        var migrator = PlatformSchema.CreateMigrator(ownerSource, app.Services.GetRequiredService<ClickHouseConnections>(),
            app.Services.GetRequiredService<ILogger<SchemaMigrator>>());
        return await migrator.MigrateAsync(cancellationToken);
    }

    private static string RequireConnectionString(this WebApplicationBuilder builder, string name)
    {
        var value = builder.Configuration.GetConnectionString(name);
        return string.IsNullOrWhiteSpace(value)
            ? throw new InvalidOperationException(
                $"ConnectionStrings:{name} is not set. Start the platform with scripts/run.sh, which starts local services and sets it, " +
                $"or set the environment variable ConnectionStrings__{name}.")
            : value;
    }
}
