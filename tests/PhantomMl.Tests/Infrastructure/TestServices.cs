using System.Data.Common;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using PhantomMl.Grains.Adapters.ClickHouse;

namespace PhantomMl.Tests.Infrastructure;

/// <summary>
/// The real services the tests run against, from the same connection strings the platform uses
/// (scripts/test.sh starts them and exports <c>ConnectionStrings__*</c>). Every test database is new
/// and uniquely named, so tests never see each other's data and can run beside a live platform.
/// </summary>
public static class TestServices
{
    /// <summary>The PostgreSQL server as the application role (phantom_app: owns nothing, bound by row-level security).</summary>
    public static string PostgreSql => Require("PostgreSql");

    /// <summary>The PostgreSQL server as the schema owner, who creates the test databases and migrates them.</summary>
    public static string PostgreSqlOwner => Require("PostgreSqlMigrations");

    /// <summary>The PostgreSQL server as the membership-only role (what SDK clients use to find the gateways).</summary>
    public static string PostgreSqlMembership => Require("PostgreSqlMembership");

    /// <summary>The ClickHouse server.</summary>
    public static string ClickHouse => Require("ClickHouse");

    /// <summary>The Redis server.</summary>
    public static string Redis => Require("Redis");

    /// <summary>Creates an empty PostgreSQL database owned by the schema owner; returns its name.</summary>
    public static async Task<string> CreatePostgreSqlDatabaseAsync(string purpose)
    {
        var name = $"phantom_test_{purpose}_{Guid.NewGuid():N}"[..40];
        await using var admin = NpgsqlDataSource.Create(PostgreSqlOwner);
        await using var command = admin.CreateCommand($"CREATE DATABASE \"{name}\"");
        await command.ExecuteNonQueryAsync();
        return name;
    }

    /// <summary>A connection string for <paramref name="database"/>, as the application role or as the owner.</summary>
    public static string PostgreSqlFor(string database, bool asOwner = false) =>
        new NpgsqlConnectionStringBuilder(asOwner ? PostgreSqlOwner : PostgreSql) { Database = database }.ConnectionString;

    /// <summary>A connection string for <paramref name="database"/> as the membership-only role.</summary>
    public static string PostgreSqlMembershipFor(string database) =>
        new NpgsqlConnectionStringBuilder(PostgreSqlMembership) { Database = database }.ConnectionString;

    /// <summary>Drops a database made by <see cref="CreatePostgreSqlDatabaseAsync"/>, closing its connections.</summary>
    public static async Task DropPostgreSqlDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = NpgsqlDataSource.Create(PostgreSqlOwner);
        // WITH (FORCE) may not terminate an autovacuum worker of another role; that worker ends by itself soon.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var command = admin.CreateCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                await command.ExecuteNonQueryAsync();
                return;
            }
            catch (PostgresException e) when (attempt < 50 && e.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.ObjectInUse)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>A connection string naming a new ClickHouse database (created by the migrations).</summary>
    public static string NewClickHouseDatabase(string purpose)
    {
        var builder = new DbConnectionStringBuilder { ConnectionString = ClickHouse };
        builder["Database"] = $"phantom_test_{purpose}_{Guid.NewGuid():N}"[..40];
        return builder.ConnectionString;
    }

    /// <summary>Drops a ClickHouse database made by <see cref="NewClickHouseDatabase"/>.</summary>
    public static async Task DropClickHouseDatabaseAsync(string connectionString)
    {
        var factory = new ClickHouseConnections(connectionString);
        await using var connection = factory.OpenServerConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = $"DROP DATABASE IF EXISTS `{factory.Database}`";
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago.</summary>
    /// <summary>
    /// A port free on loopback now, for a test silo to bind a moment later. Taken from 20000-29999, below the kernel's
    /// ephemeral range (32768-60999): a port the kernel hands out itself (port 0) can be taken by any outgoing
    /// connection between this check and the silo's bind, which failed a run with "address already in use". Each port
    /// is handed out once per test process.
    /// </summary>
    public static int FreePort()
    {
        for (var attempt = 0; attempt < PortRange; attempt++)
        {
            var port = LowestPort + (int)((uint)Interlocked.Increment(ref _nextPort) % PortRange);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // in use by someone else: the next one
            }
        }

        throw new InvalidOperationException($"No free port in {LowestPort}-{LowestPort + PortRange - 1}.");
    }

    private const int LowestPort = 20_000;
    private const int PortRange = 10_000;
    private static int _nextPort = Random.Shared.Next(PortRange);

    private static string Require(string name) =>
        Environment.GetEnvironmentVariable($"ConnectionStrings__{name}") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"ConnectionStrings__{name} is not set: run the tests with scripts/test.sh, which starts the services and sets it.");
}
