using Elastic.Transport;
using PhantomMl.Grains.Adapters.Elasticsearch;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Audit;

/// <summary>
/// The audit search backends against one contract: PostgreSQL (the default; always runs) and Elasticsearch (runs when
/// ConnectionStrings__Elasticsearch names a server, reported as skipped otherwise: no Elasticsearch server can be
/// installed here). Rows are written, sealed into the chain and indexed exactly as the platform does.
/// </summary>
public sealed class AuditSearchBackendTests : IAsyncLifetime
{
    private const string ElasticsearchVariable = "ConnectionStrings__Elasticsearch";
    private MigratedDatabases? _databases;

    private MigratedDatabases Databases => _databases ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync() => _databases = await MigratedDatabases.CreateAsync("search");

    public async ValueTask DisposeAsync()
    {
        if (_databases is not null)
        {
            await _databases.DisposeAsync();
        }
    }

    [Fact]
    public Task The_PostgreSQL_backend_finds_words_phrases_prefixes_filters_pages_and_only_the_tenants_rows() =>
        ContractAsync(new PostgreSqlAuditSearch(new TenantDatabase(Databases.AppSource)), lagBeforeIndexing: false);

    [Fact]
    public async Task The_Elasticsearch_backend_finds_words_phrases_prefixes_filters_pages_and_only_the_tenants_rows()
    {
        var server = Environment.GetEnvironmentVariable(ElasticsearchVariable);
        Assert.SkipWhen(string.IsNullOrWhiteSpace(server), $"No Elasticsearch server: set {ElasticsearchVariable} to run the Elasticsearch adapter's tests.");
        var client = ElasticsearchConnection.Client(server!);
        var database = new TenantDatabase(Databases.AppSource);
        var tenants = await ContractAsync(new ElasticsearchAuditSearch(client, new AuditChainSql(database), database, TimeProvider.System),
            lagBeforeIndexing: true);
        foreach (var tenant in tenants)
        {
            await client.Transport.RequestAsync<StringResponse>(Elastic.Transport.HttpMethod.DELETE, ElasticsearchAuditSearch.IndexName(tenant),
                TestContext.Current.CancellationToken);
        }
    }

    private async Task<Guid[]> ContractAsync(IAuditSearch search, bool lagBeforeIndexing)
    {
        var database = new TenantDatabase(Databases.AppSource);
        var auditSql = new AuditSql(database);
        var chainSql = new AuditChainSql(database);
        var tenant = await TenantSql.CreateTenantAsync(Databases.OwnerSource);
        var other = await TenantSql.CreateTenantAsync(Databases.OwnerSource);
        Task Write(Guid id, string user, AuditEvent audit) =>
            auditSql.RecordAloneAsync(id, user, new ClientDetails(Guid.NewGuid().ToString(), null, "10.0.0.1", "tests"), audit);

        await Write(tenant, "alice", new AuditEvent("model_lifecycle", "model", "churn", "create", Details: new { note = "weekly churn retrain" }));
        await Write(tenant, "bob", new AuditEvent("model_lifecycle", "model", "fraud-detector", "delete"));
        await Write(tenant, "mallory", new AuditEvent("authorization", "model", "churn", "create", AuditEvent.Denied,
            new { attempted = "model_lifecycle" }));
        for (var i = 0; i < 57; i++)
        {
            await Write(tenant, "alice", new AuditEvent("training", "training_job", $"job-{i}", "create"));
        }

        await Write(other, "eve", new AuditEvent("model_lifecycle", "model", "churn", "create", Details: new { note = "weekly churn retrain" }));
        foreach (var id in new[] { tenant, other })
        {
            await chainSql.SealAsync(id, 5000);
            var (head, _, _) = await chainSql.ReadHeadAsync(id);
            Assert.Equal(lagBeforeIndexing ? 0 : head, (await search.ProgressAsync(id, head)).IndexedSeq);
            await search.CatchUpAsync(id);
            Assert.Equal(head, (await search.ProgressAsync(id, head)).IndexedSeq);
        }

        async Task<List<AuditEntry>> FindAsync(Guid id, AuditSearchQuery query) =>
            (await search.SearchAsync(id, AuditSearchParser.Parse(query))).Entries.ToList();

        // Words, phrases in order, prefixes; never another tenant's rows.
        Assert.Equal(["alice", "mallory"], (await FindAsync(tenant, new AuditSearchQuery("churn"))).Select(e => e.UserId).Order());
        Assert.Equal(["alice"], (await FindAsync(tenant, new AuditSearchQuery("\"weekly churn\""))).Select(e => e.UserId));
        Assert.Empty(await FindAsync(tenant, new AuditSearchQuery("\"churn weekly\"")));
        Assert.Equal(["bob"], (await FindAsync(tenant, new AuditSearchQuery("fraud*"))).Select(e => e.UserId));
        Assert.Equal(["eve"], (await FindAsync(other, new AuditSearchQuery("churn"))).Select(e => e.UserId));

        // Filters and the risk sort.
        Assert.Equal(["bob"], (await FindAsync(tenant, new AuditSearchQuery(UserId: "bob"))).Select(e => e.UserId));
        var risky = await FindAsync(tenant, new AuditSearchQuery(MinRisk: 0.4m, Sort: "risk"));
        Assert.Equal("mallory", risky[0].UserId);
        Assert.All(risky, e => Assert.True(e.RiskScore >= 0.4m));
        Assert.Equal(["mallory"], (await FindAsync(tenant, new AuditSearchQuery(Result: "denied"))).Select(e => e.UserId));

        // Keyset pages: every training row once, oldest first.
        var seen = new List<AuditEntry>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await search.SearchAsync(tenant, AuditSearchParser.Parse(new AuditSearchQuery(ResourceType: "training_job", Sort: "oldest",
                Limit: 20, Cursor: cursor)));
            seen.AddRange(page.Entries);
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null);
        Assert.Equal(3, pages);
        Assert.Equal(57, seen.Select(e => e.Id).Distinct().Count());
        Assert.Equal(seen.Select(e => e.Timestamp).Order(), seen.Select(e => e.Timestamp));
        return [tenant, other];
    }
}
