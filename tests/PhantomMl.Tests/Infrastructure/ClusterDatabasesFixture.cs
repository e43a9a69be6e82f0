namespace PhantomMl.Tests.Infrastructure;

/// <summary>
/// One migrated database pair for every test that runs silo processes. Tests share it safely because
/// each starts its own cluster (a unique ClusterId) and uses its own grain keys.
/// </summary>
public sealed class ClusterDatabasesFixture : IAsyncLifetime
{
    private MigratedDatabases? _databases;

    /// <summary>The migrated databases.</summary>
    public MigratedDatabases Databases => _databases ?? throw new InvalidOperationException("Fixture not initialized");

    /// <summary>A fresh cluster id for one test.</summary>
    public static string NewClusterId() => $"test-{Guid.NewGuid():N}"[..21];

    /// <inheritdoc />
    public async ValueTask InitializeAsync() => _databases = await MigratedDatabases.CreateAsync("cluster");

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_databases is not null)
        {
            await _databases.DisposeAsync();
        }
    }
}

/// <summary>Tests that start silo processes run one at a time: each takes a core or two for seconds.</summary>
[CollectionDefinition(Name)]
public sealed class SiloProcessCollection : ICollectionFixture<ClusterDatabasesFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "silo processes";
}
