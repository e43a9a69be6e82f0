using MongoDB.Bson;
using MongoDB.Driver;
using PhantomMl.Grains.Agents;

namespace PhantomMl.Grains.Adapters.MongoDb;

/// <summary>
/// Execution logs in MongoDB's agent_execution_logs collection, with the design's index (tenant_id, agent_execution_id,
/// timestamp). Tenant isolation is in every filter: no query runs without the tenant's id, and the id comes from the
/// authorized call, never from the client. Retention is a TTL index on each entry's <c>expire_at</c>, set from the
/// tenant's agent_log_retention_days when written; a unique index on (tenant, execution, seq) makes a repeated write
/// add nothing.
/// </summary>
public sealed class MongoExecutionLogStore : IExecutionLogStore
{
    /// <summary>The collection's name, as in the design.</summary>
    public const string CollectionName = "agent_execution_logs";

    private readonly IMongoCollection<BsonDocument> _logs;
    private readonly Lazy<Task> _indexes;

    /// <summary>Connects to <paramref name="connectionString"/>; the database is the one it names, else <c>phantom</c>.</summary>
    public MongoExecutionLogStore(string connectionString)
    {
        var url = MongoUrl.Create(connectionString);
        _logs = new MongoClient(url).GetDatabase(url.DatabaseName ?? "phantom").GetCollection<BsonDocument>(CollectionName);
        _indexes = new Lazy<Task>(CreateIndexesAsync);
    }

    /// <inheritdoc />
    public async Task AppendAsync(Guid tenantId, Guid executionId, IReadOnlyList<LogEntry> entries, int retentionDays,
        CancellationToken cancellationToken = default)
    {
        if (entries.Count == 0)
        {
            return;
        }

        await _indexes.Value;
        var writes = entries.Select(entry => new UpdateOneModel<BsonDocument>(
            Key(tenantId, executionId) & Builders<BsonDocument>.Filter.Eq("seq", entry.Sequence),
            new BsonDocument("$setOnInsert", new BsonDocument
            {
                ["timestamp"] = entry.Timestamp.UtcDateTime,
                ["level"] = entry.Level.ToString().ToLowerInvariant(),
                ["level_rank"] = (int)entry.Level,
                ["message"] = entry.Message,
                ["attempt"] = entry.Attempt,
                ["fields"] = entry.Fields is null ? BsonNull.Value : BsonDocument.Parse(entry.Fields),
                ["expire_at"] = entry.Timestamp.UtcDateTime.AddDays(retentionDays),
            }))
        { IsUpsert = true });
        await _logs.BulkWriteAsync(writes, new BulkWriteOptions { IsOrdered = false }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<ExecutionLogPage> ReadAsync(Guid tenantId, Guid executionId, LogLevelName minLevel, long? after, int limit,
        CancellationToken cancellationToken = default)
    {
        var filter = Key(tenantId, executionId)
            & Builders<BsonDocument>.Filter.Gte("level_rank", (int)minLevel)
            & Builders<BsonDocument>.Filter.Gt("seq", after ?? 0);
        var found = await _logs.Find(filter).Sort(Builders<BsonDocument>.Sort.Ascending("seq")).Limit(limit + 1).ToListAsync(cancellationToken);
        var entries = found.Select(document => new ExecutionLogEntry(document["seq"].ToInt64(),
            new DateTimeOffset(document["timestamp"].ToUniversalTime()), document["level"].AsString, document["message"].AsString,
            document["attempt"].ToInt32(), document["fields"].IsBsonNull ? null : document["fields"].ToJson())).ToList();
        return entries.Count > limit ? new ExecutionLogPage(entries[..limit], entries[limit - 1].Sequence) : new ExecutionLogPage(entries, null);
    }

    /// <inheritdoc />
    /// <remarks>MongoDB's TTL monitor deletes expired entries itself; nothing to count here.</remarks>
    public Task<long> ExpireAsync(CancellationToken cancellationToken = default) => Task.FromResult(0L);

    private static FilterDefinition<BsonDocument> Key(Guid tenantId, Guid executionId) =>
        Builders<BsonDocument>.Filter.Eq("tenant_id", tenantId.ToString()) & Builders<BsonDocument>.Filter.Eq("agent_execution_id",
            executionId.ToString());

    private async Task CreateIndexesAsync()
    {
        var keys = Builders<BsonDocument>.IndexKeys;
        await _logs.Indexes.CreateManyAsync(
        [
            new CreateIndexModel<BsonDocument>(keys.Ascending("tenant_id").Ascending("agent_execution_id").Ascending("timestamp"),
                new CreateIndexOptions { Name = "tenant_execution_time" }),
            new CreateIndexModel<BsonDocument>(keys.Ascending("tenant_id").Ascending("agent_execution_id").Ascending("seq"),
                new CreateIndexOptions { Name = "tenant_execution_seq", Unique = true }),
            new CreateIndexModel<BsonDocument>(keys.Ascending("expire_at"), new CreateIndexOptions { Name = "retention",
                ExpireAfter = TimeSpan.Zero }),
        ]);
    }
}
