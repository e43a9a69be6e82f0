namespace PhantomMl.Tests.Infrastructure;

/// <summary>
/// One running silo on its own databases, with its platform-admin key, shared by a test class. Tests make
/// their own tenants (unique keys), so they never see each other's data.
/// </summary>
public sealed class PlatformSiloFixture : PlatformApi, IAsyncLifetime
{
    private MigratedDatabases? _databases;
    private SiloProcess? _silo;

    public MigratedDatabases Databases => _databases ?? throw new InvalidOperationException("not started");

    public override SiloProcess Silo => _silo ?? throw new InvalidOperationException("not started");

    public string ClusterId { get; } = ClusterDatabasesFixture.NewClusterId();

    public async ValueTask InitializeAsync()
    {
        _databases = await MigratedDatabases.CreateAsync("api");
        _silo = await SiloProcess.StartAsync(ClusterId, _databases);
        await _silo.WaitUntilReadyAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }

        if (_databases is not null)
        {
            await _databases.DisposeAsync();
        }
    }

}
