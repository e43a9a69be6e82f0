namespace PhantomMl.Tests.Infrastructure;

/// <summary>
/// Two silos on one database: one storing artifacts in a folder, one in S3 (moto, started by scripts/test.sh) with
/// server-side encryption under the KMS key <see cref="KmsKeyId"/>.
/// </summary>
public sealed class ArtifactSilosFixture : IAsyncLifetime
{
    private MigratedDatabases? _databases;

    public const string KmsKeyId = "phantom-test-artifacts-key";

    public Dictionary<string, PlatformApi> Stores { get; } = [];

    public static string S3ConnectionString => Environment.GetEnvironmentVariable("ConnectionStrings__S3") is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException("ConnectionStrings__S3 is not set: run the tests with scripts/test.sh, which starts moto.");

    public async ValueTask InitializeAsync()
    {
        _databases = await MigratedDatabases.CreateAsync("artifacts");
        var folder = await SiloProcess.StartAsync(ClusterDatabasesFixture.NewClusterId(), _databases);
        var s3 = await SiloProcess.StartAsync(ClusterDatabasesFixture.NewClusterId(), _databases,
            settings: new Dictionary<string, string> { ["ConnectionStrings__S3"] = $"{S3ConnectionString};KmsKeyId={KmsKeyId}" });
        await Task.WhenAll(folder.WaitUntilReadyAsync(), s3.WaitUntilReadyAsync());
        Stores["filesystem"] = new PlatformApi(folder);
        Stores["s3"] = new PlatformApi(s3);
    }

    /// <summary>An SDK client of the silo that uses <paramref name="store"/>, calling with <paramref name="apiKey"/>.</summary>
    public Task<PhantomMl.Client.PhantomClient> ConnectAsync(string store, string apiKey) =>
        PhantomMl.Client.PhantomClient.ConnectAsync(new PhantomMl.Client.PhantomClientOptions
        {
            MembershipConnectionString = _databases!.Membership,
            ClusterId = Stores[store].Silo.ClusterId,
            ApiKey = apiKey,
        }, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        foreach (var api in Stores.Values)
        {
            await api.Silo.DisposeAsync();
        }

        if (_databases is not null)
        {
            await _databases.DisposeAsync();
        }
    }
}
