using System.Data.Common;
using ClickHouse.Driver;
using ClickHouse.Driver.ADO;

namespace PhantomMl.Grains.Adapters.ClickHouse;

/// <summary>
/// Opens ClickHouse connections from the configured connection string
/// (<c>Host=...;Port=8123;Protocol=http;Database=phantom;Username=default</c>).
/// </summary>
public sealed class ClickHouseConnections
{
    private readonly string _connectionString;
    private readonly string _serverConnectionString;

    /// <summary>Creates the factory; the database named in the connection string is the platform's.</summary>
    public ClickHouseConnections(string connectionString)
    {
        var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
        Database = builder.TryGetValue("Database", out var database) && database is string name && name.Length > 0 ? name : "phantom";
        if (!Database.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new ArgumentException($"ClickHouse database name '{Database}' must be letters, digits and '_'.", nameof(connectionString));
        }

        builder["Database"] = Database;
        _connectionString = builder.ConnectionString;
        Client = new ClickHouseClient(_connectionString);
        builder["Database"] = "default";
        _serverConnectionString = builder.ConnectionString;
    }

    /// <summary>A shared, thread-safe client of the platform's database, for the hot paths (metric inserts and queries).</summary>
    public ClickHouseClient Client { get; }

    /// <summary>The platform's database.</summary>
    public string Database { get; }

    /// <summary>A connection to the platform's database.</summary>
    public ClickHouseConnection Open() => new(_connectionString);

    /// <summary>A connection to the server's default database, for creating the platform's database.</summary>
    public ClickHouseConnection OpenServerConnection() => new(_serverConnectionString);
}
