using MongoDB.Driver;
using PhantomMl.Grains.Adapters.MongoDb;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Agents;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Agents;

/// <summary>
/// The execution log stores against one contract: PostgreSQL (the default; always runs) and MongoDB (runs when
/// ConnectionStrings__MongoDb names a server, reported as skipped otherwise: no MongoDB server can be installed here).
/// </summary>
public sealed class ExecutionLogStoreTests : IAsyncLifetime
{
    private const string MongoVariable = "ConnectionStrings__MongoDb";
    private MigratedDatabases? _databases;

    private MigratedDatabases Databases => _databases ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync() => _databases = await MigratedDatabases.CreateAsync("logs");

    public async ValueTask DisposeAsync()
    {
        if (_databases is not null)
        {
            await _databases.DisposeAsync();
        }
    }

    [Fact]
    public Task The_PostgreSQL_store_pages_filters_isolates_tenants_and_writes_each_entry_once()
    {
        var database = new TenantDatabase(Databases.AppSource);
        return ContractAsync(new PostgreSqlExecutionLogStore(database, new AgentSql(database)));
    }

    [Fact]
    public async Task The_MongoDB_store_pages_filters_isolates_tenants_and_writes_each_entry_once()
    {
        var server = Environment.GetEnvironmentVariable(MongoVariable);
        Assert.SkipWhen(string.IsNullOrWhiteSpace(server), $"No MongoDB server: set {MongoVariable} to run the MongoDB adapter's tests.");
        var url = new MongoUrlBuilder(server) { DatabaseName = $"phantom_test_{Guid.NewGuid():N}" }.ToMongoUrl();
        try
        {
            await ContractAsync(new MongoExecutionLogStore(url.ToString()));
            var indexes = await (await new MongoClient(url).GetDatabase(url.DatabaseName).GetCollection<MongoDB.Bson.BsonDocument>(
                MongoExecutionLogStore.CollectionName).Indexes.ListAsync(TestContext.Current.CancellationToken)).ToListAsync(TestContext.Current.CancellationToken);
            Assert.Contains(indexes, index => index["name"] == "tenant_execution_time");
            Assert.Contains(indexes, index => index["name"] == "retention" && index["expireAfterSeconds"] == 0);
        }
        finally
        {
            await new MongoClient(url).DropDatabaseAsync(url.DatabaseName, TestContext.Current.CancellationToken);
        }
    }

    private async Task ContractAsync(IExecutionLogStore store)
    {
        var tenant = await TenantSql.CreateTenantAsync(Databases.OwnerSource);
        var other = await TenantSql.CreateTenantAsync(Databases.OwnerSource);
        var execution = Guid.NewGuid();
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        var entries = Enumerable.Range(1, 7).Select(i => new LogEntry(i, start.AddSeconds(i), (LogLevelName)(i % 4), $"entry {i}", Attempt: 1 + (i / 4),
            Fields: i == 3 ? """{"rows": 3, "note": "ümlaut"}""" : null)).ToList();
        await store.AppendAsync(tenant, execution, entries[..4], retentionDays: 7);
        await store.AppendAsync(tenant, execution, entries[2..], retentionDays: 7); // 3 and 4 again: written once

        var pages = new List<ExecutionLogPage>();
        long? after = null;
        do
        {
            var page = await store.ReadAsync(tenant, execution, LogLevelName.Debug, after, 3);
            pages.Add(page);
            after = page.Next;
        }
        while (after is not null);
        var all = pages.SelectMany(page => page.Entries).ToList();
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7], all.Select(entry => entry.Sequence));
        Assert.Equal([3, 3, 1], pages.Select(page => page.Entries.Count));
        Assert.Equal("entry 3", all[2].Message);
        Assert.Contains("ümlaut", all[2].Fields);
        Assert.Equal(("warning", 2), (all[5].Level, all[5].Attempt));
        Assert.Equal(start.AddSeconds(1).ToUnixTimeMilliseconds(), all[0].Timestamp.ToUnixTimeMilliseconds());

        var warnings = await store.ReadAsync(tenant, execution, LogLevelName.Warning, null, 100);
        Assert.Equal([2L, 3, 6, 7], warnings.Entries.Select(entry => entry.Sequence));
        Assert.All(warnings.Entries, entry => Assert.Contains(entry.Level, new[] { "warning", "error" }));

        Assert.Empty((await store.ReadAsync(other, execution, LogLevelName.Debug, null, 100)).Entries);
        Assert.Empty((await store.ReadAsync(tenant, Guid.NewGuid(), LogLevelName.Debug, null, 100)).Entries);
    }
}
