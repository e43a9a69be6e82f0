using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Elastic.Clients.Elasticsearch;
using Elastic.Transport;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;

namespace PhantomMl.Grains.Adapters.Elasticsearch;

/// <summary>
/// <see cref="IAuditSearch"/> on Elasticsearch (docs/audit.md#search). One index per tenant
/// (<c>phantom-audit-{tenant id}</c>): a search names the tenant's index only, so another tenant's rows are not in
/// reach. The audit trail is the outbox: after each seal the tenant's chain grain calls <see cref="CatchUpAsync"/>,
/// which reads the sealed entries after the tenant's offset (audit_search_offsets), bulk-indexes them by row id (so a
/// repeat overwrites, never duplicates), deletes the documents of rows retention removed, and moves the offset only
/// after Elasticsearch acknowledged the batch. Requests are the query DSL sent through the official client's
/// transport, so the JSON here is exactly what Elasticsearch receives.
/// </summary>
public sealed class ElasticsearchAuditSearch(ElasticsearchClient client, AuditChainSql chainSql, TenantDatabase database, TimeProvider time)
    : IAuditSearch
{
    private const int BatchSize = 1000;
    private static readonly TimeSpan PurgeInterval = TimeSpan.FromHours(1);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <inheritdoc />
    public string Backend => "elasticsearch";

    /// <summary>The tenant's index.</summary>
    public static string IndexName(Guid tenantId) => $"phantom-audit-{tenantId:N}";

    /// <inheritdoc />
    public async Task<long> CatchUpAsync(Guid tenantId)
    {
        var index = IndexName(tenantId);
        var (offset, _, purgedAt) = await ReadOffsetAsync(tenantId);
        var indexReady = false;
        long indexed = 0;
        while (true)
        {
            var entries = await chainSql.ReadAsync(tenantId, offset, null, BatchSize);
            if (entries.Count == 0)
            {
                break;
            }

            // Called after every seal: only a seal that brought something to index talks to Elasticsearch about the index.
            if (!indexReady)
            {
                await EnsureIndexAsync(index);
                indexReady = true;
            }

            var bulk = new StringBuilder();
            foreach (var entry in entries)
            {
                bulk.Append(JsonSerializer.Serialize(entry.Row is null
                    ? new { delete = new { _index = index, _id = entry.AuditId.ToString("D") } }
                    : (object)new { index = new { _index = index, _id = entry.AuditId.ToString("D") } }, Json)).Append('\n');
                if (entry.Row is { } row)
                {
                    bulk.Append(Document(row).ToJsonString(Json)).Append('\n');
                }
            }

            using var result = await SendAsync(Elastic.Transport.HttpMethod.POST, "_bulk?refresh=wait_for", bulk.ToString());
            if (result.RootElement.GetProperty("errors").GetBoolean())
            {
                throw new InvalidOperationException($"Elasticsearch refused part of a bulk request for {index}: " +
                    BoundedFirstError(result.RootElement));
            }

            offset = entries[^1].Seq;
            indexed += entries.Count;
            await WriteOffsetAsync(tenantId, offset, purged: null);
            if (entries.Count < BatchSize)
            {
                break;
            }
        }

        var now = time.GetUtcNow();
        if (purgedAt is null || now - purgedAt > PurgeInterval)
        {
            if (!indexReady)
            {
                await EnsureIndexAsync(index);
            }

            // Rows retention removed after they were indexed: their documents go too.
            using var _ = await SendAsync(Elastic.Transport.HttpMethod.POST, $"{index}/_delete_by_query?conflicts=proceed",
                JsonSerializer.Serialize(new { query = new { range = new { retentionUntil = new { lt = Micros(now) } } } }, Json));
            await WriteOffsetAsync(tenantId, offset, purged: now);
        }

        return indexed;
    }

    /// <inheritdoc />
    public Task ResetAsync(Guid tenantId) =>
        database.InTenantAsync(tenantId, async (_, transaction) =>
        {
            await using var command = TenantDatabase.TenantCommand(transaction,
                "UPDATE audit_search_offsets SET indexed_seq = 0 WHERE tenant_id = @tenant AND backend = 'elasticsearch'");
            return await command.ExecuteNonQueryAsync();
        });

    /// <inheritdoc />
    public async Task<(long IndexedSeq, DateTimeOffset? IndexedAt)> ProgressAsync(Guid tenantId, long headSeq)
    {
        var (seq, at, _) = await ReadOffsetAsync(tenantId);
        return (seq, at);
    }

    /// <inheritdoc />
    public async Task<AuditSearchPage> SearchAsync(Guid tenantId, ParsedAuditSearch search)
    {
        var query = search.Query;
        var must = new JsonArray();
        foreach (var term in search.Terms)
        {
            must.Add(term.Kind switch
            {
                SearchTerm.Phrase => new JsonObject { ["match_phrase"] = new JsonObject { ["text"] = term.Text } },
                SearchTerm.Prefix => new JsonObject { ["prefix"] = new JsonObject { ["text"] = term.Text.ToLowerInvariant() } },
                _ => new JsonObject { ["match"] = new JsonObject { ["text"] = new JsonObject { ["query"] = term.Text, ["operator"] = "and" } } },
            });
        }

        var filter = new JsonArray { Range("retentionUntil", "gt", Micros(time.GetUtcNow())) };
        foreach (var (field, value) in new[] { ("userId", query.UserId), ("action", query.Action), ("resourceType", query.ResourceType),
                     ("result", query.Result) })
        {
            if (value is not null)
            {
                filter.Add(new JsonObject { ["term"] = new JsonObject { [field] = value } });
            }
        }

        if (query.MinRisk is { } minRisk)
        {
            filter.Add(Range("riskScore", "gte", minRisk));
        }

        if (query.From is { } from)
        {
            filter.Add(Range("ts", "gte", Micros(from)));
        }

        if (query.To is { } to)
        {
            filter.Add(Range("ts", "lt", Micros(to)));
        }

        var direction = search.Sort == "oldest" ? "asc" : "desc";
        var sort = new JsonArray();
        if (search.Sort == "risk")
        {
            sort.Add(new JsonObject { ["riskScore"] = "desc" });
        }

        sort.Add(new JsonObject { ["ts"] = direction });
        sort.Add(new JsonObject { ["id"] = direction });
        var body = new JsonObject
        {
            ["size"] = query.Limit + 1,
            ["track_total_hits"] = false,
            ["query"] = new JsonObject { ["bool"] = new JsonObject { ["must"] = must, ["filter"] = filter } },
            ["sort"] = sort,
            ["_source"] = new JsonArray { "entry" },
        };
        if (search.After is { } after)
        {
            var values = new JsonArray();
            if (search.Sort == "risk")
            {
                values.Add(after.Risk);
            }

            values.Add(Micros(after.Timestamp));
            values.Add(after.Id.ToString("D"));
            body["search_after"] = values;
        }

        var index = IndexName(tenantId);
        using var result = await SendAsync(Elastic.Transport.HttpMethod.POST, $"{index}/_search?ignore_unavailable=true", body.ToJsonString(Json));
        var hits = result.RootElement.TryGetProperty("hits", out var found)
            ? found.GetProperty("hits").EnumerateArray().Select(hit => hit.GetProperty("_source").GetProperty("entry").Deserialize<AuditEntry>(Json)!)
                .ToList()
            : [];
        var more = hits.Count > query.Limit;
        var page = more ? hits[..query.Limit] : hits;
        var last = more ? page[^1] : null;
        return new AuditSearchPage(page, last is null ? null : new SearchCursor(last.RiskScore ?? 0, last.Timestamp, last.Id).Encode());
    }

    /// <summary>The words a row is found by, as the PostgreSQL backend's search_vector: no addresses or user agents.</summary>
    public static string Words(AuditEntry row)
    {
        var words = new StringBuilder($"{row.Action} {row.ResourceType} {row.ResourceId} {row.EventType} {row.Result} {row.UserId}");
        if (row.Details is { } details)
        {
            using var document = JsonDocument.Parse(details);
            AppendStrings(document.RootElement, words);
        }

        return words.ToString();
    }

    private static JsonObject Document(AuditEntry row) => new()
    {
        ["id"] = row.Id.ToString("D"),
        ["ts"] = Micros(row.Timestamp),
        ["userId"] = row.UserId,
        ["eventType"] = row.EventType,
        ["resourceType"] = row.ResourceType,
        ["action"] = row.Action,
        ["result"] = row.Result,
        ["riskScore"] = row.RiskScore ?? 0,
        ["retentionUntil"] = row.RetentionUntil is { } until ? Micros(until) : long.MaxValue,
        ["text"] = Words(row),
        ["entry"] = JsonSerializer.SerializeToNode(row, Json),
    };

    private async Task EnsureIndexAsync(string index)
    {
        var exists = await client.Transport.RequestAsync<StringResponse>(Elastic.Transport.HttpMethod.HEAD, index);
        if (exists.ApiCallDetails.HttpStatusCode == 200)
        {
            return;
        }

        // keyword fields filter and sort exactly; "text" is analyzed like PostgreSQL's 'simple' configuration (lower
        // case, no stemming, no stop words; a hyphenated word is split into its parts); the row is kept, not indexed,
        // to answer hits.
        var mapping = new JsonObject
        {
            ["settings"] = new JsonObject { ["number_of_shards"] = 1 },
            ["mappings"] = new JsonObject
            {
                ["dynamic"] = "strict",
                ["properties"] = new JsonObject
                {
                    ["id"] = Type("keyword"), ["ts"] = Type("long"), ["userId"] = Type("keyword"), ["eventType"] = Type("keyword"),
                    ["resourceType"] = Type("keyword"), ["action"] = Type("keyword"), ["result"] = Type("keyword"),
                    ["riskScore"] = Type("scaled_float", new JsonObject { ["scaling_factor"] = 100 }), ["retentionUntil"] = Type("long"),
                    ["text"] = Type("text", new JsonObject { ["analyzer"] = "standard" }),
                    ["entry"] = new JsonObject { ["type"] = "object", ["enabled"] = false },
                },
            },
        };
        var created = await client.Transport.RequestAsync<StringResponse>(Elastic.Transport.HttpMethod.PUT, index,
            PostData.String(mapping.ToJsonString(Json)));
        // Another silo may have created it a moment ago.
        if (!created.ApiCallDetails.HasSuccessfulStatusCode && created.Body?.Contains("resource_already_exists_exception") != true)
        {
            throw new InvalidOperationException(
                $"Elasticsearch did not create index {index}: {created.ApiCallDetails.HttpStatusCode} {BoundedText.Fit(created.Body, 500)}");
        }
    }

    private async Task<JsonDocument> SendAsync(Elastic.Transport.HttpMethod method, string path, string body)
    {
        var response = await client.Transport.RequestAsync<StringResponse>(method, path, PostData.String(body));
        if (!response.ApiCallDetails.HasSuccessfulStatusCode)
        {
            throw new InvalidOperationException($"Elasticsearch answered {response.ApiCallDetails.HttpStatusCode} to {method} {path}: " +
                BoundedText.Fit(response.Body, 500), response.ApiCallDetails.OriginalException);
        }

        return JsonDocument.Parse(response.Body);
    }

    private Task<(long Seq, DateTimeOffset? At, DateTimeOffset? PurgedAt)> ReadOffsetAsync(Guid tenantId) =>
        database.InTenantAsync(tenantId, async (_, transaction) =>
        {
            await using var command = TenantDatabase.TenantCommand(transaction,
                "SELECT indexed_seq, indexed_at, purged_at FROM audit_search_offsets WHERE tenant_id = @tenant AND backend = 'elasticsearch'");
            await using var reader = await command.ExecuteReaderAsync();
            return await reader.ReadAsync()
                ? (reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1),
                    reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2))
                : (0L, (DateTimeOffset?)null, (DateTimeOffset?)null);
        });

    private Task<int> WriteOffsetAsync(Guid tenantId, long seq, DateTimeOffset? purged) =>
        database.InTenantAsync(tenantId, async (_, transaction) =>
        {
            await using var command = TenantDatabase.TenantCommand(transaction, """
                INSERT INTO audit_search_offsets (tenant_id, backend, indexed_seq, indexed_at, purged_at)
                VALUES (@tenant, 'elasticsearch', @seq, now(), @purged)
                ON CONFLICT (tenant_id, backend) DO UPDATE
                   SET indexed_seq = excluded.indexed_seq, indexed_at = excluded.indexed_at,
                       purged_at = coalesce(excluded.purged_at, audit_search_offsets.purged_at)
                """);
            command.Parameters.AddWithValue("seq", seq);
            command.AddOptional("purged", NpgsqlTypes.NpgsqlDbType.TimestampTz, purged);
            return await command.ExecuteNonQueryAsync();
        });

    private static void AppendStrings(JsonElement element, StringBuilder words)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                words.Append(' ').Append(element.GetString());
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    AppendStrings(property.Value, words);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    AppendStrings(item, words);
                }

                break;
        }
    }

    private static JsonObject Range(string field, string op, JsonNode value) =>
        new() { ["range"] = new JsonObject { [field] = new JsonObject { [op] = value } } };

    private static JsonObject Type(string type, JsonObject? extra = null)
    {
        var node = new JsonObject { ["type"] = type };
        foreach (var (key, value) in extra ?? [])
        {
            node[key] = value?.DeepClone();
        }

        return node;
    }

    private static long Micros(DateTimeOffset time) => AuditChainFormat.Micros(time);

    private static string? BoundedFirstError(JsonElement bulk) =>
        BoundedText.Fit(bulk.GetProperty("items").EnumerateArray().Select(item => item.EnumerateObject().First().Value)
            .FirstOrDefault(result => result.TryGetProperty("error", out _)).ToString(), 500);
}
