using System.Text;
using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Audit;

namespace PhantomMl.Grains.Adapters.PostgreSql;

/// <summary>
/// <see cref="IAuditSearch"/> on audit_logs itself: search_vector (migration 0017) with a GIN index in every daily
/// partition, combined with the tenant's btree index, and a time range prunes whole days. Words go through
/// plainto_tsquery, phrases through phraseto_tsquery, prefixes through to_tsquery(':*'); every term is a bound
/// parameter. Pages continue with a keyset cursor on the sort's columns.
/// </summary>
public sealed class PostgreSqlAuditSearch(TenantDatabase database) : IAuditSearch
{
    /// <inheritdoc />
    public string Backend => "postgresql";

    /// <inheritdoc />
    public Task<long> CatchUpAsync(Guid tenantId) => Task.FromResult(0L); // the trail is its own index

    /// <inheritdoc />
    public Task ResetAsync(Guid tenantId) => Task.CompletedTask;

    /// <inheritdoc />
    public Task<(long IndexedSeq, DateTimeOffset? IndexedAt)> ProgressAsync(Guid tenantId, long headSeq) =>
        Task.FromResult<(long, DateTimeOffset?)>((headSeq, null));

    /// <inheritdoc />
    public Task<AuditSearchPage> SearchAsync(Guid tenantId, ParsedAuditSearch search) =>
        database.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            var query = search.Query;
            var sql = new StringBuilder($"SELECT {AuditSql.Columns("")} FROM audit_logs WHERE tenant_id = @tenant");
            await using var command = TenantDatabase.TenantCommand(transaction, "");
            for (var i = 0; i < search.Terms.Count; i++)
            {
                var term = search.Terms[i];
                sql.Append(term.Kind switch
                {
                    SearchTerm.Phrase => $" AND search_vector @@ phraseto_tsquery('simple', @t{i})",
                    SearchTerm.Prefix => $" AND search_vector @@ to_tsquery('simple', @t{i} || ':*')",
                    _ => $" AND search_vector @@ plainto_tsquery('simple', @t{i})",
                });
                command.Parameters.AddWithValue($"t{i}", term.Text);
            }

            Filter(sql, command, "user_id = @user", "user", query.UserId);
            Filter(sql, command, "action = @action", "action", query.Action);
            Filter(sql, command, "resource_type = @resourceType", "resourceType", query.ResourceType);
            Filter(sql, command, "result::text = @result", "result", query.Result);
            Filter(sql, command, "coalesce(risk_score, 0) >= @minRisk", "minRisk", query.MinRisk);
            Filter(sql, command, "\"timestamp\" >= @from", "from", query.From);
            Filter(sql, command, "\"timestamp\" < @to", "to", query.To);
            if (search.After is { } after)
            {
                sql.Append(search.Sort switch
                {
                    "oldest" => " AND (\"timestamp\", id) > (@afterTime, @afterId)",
                    "risk" => " AND (coalesce(risk_score, 0), \"timestamp\", id) < (@afterRisk, @afterTime, @afterId)",
                    _ => " AND (\"timestamp\", id) < (@afterTime, @afterId)",
                });
                command.Parameters.AddWithValue("afterRisk", after.Risk);
                command.Parameters.AddWithValue("afterTime", after.Timestamp);
                command.Parameters.AddWithValue("afterId", after.Id);
            }

            sql.Append(search.Sort switch
            {
                "oldest" => " ORDER BY \"timestamp\", id",
                "risk" => " ORDER BY coalesce(risk_score, 0) DESC, \"timestamp\" DESC, id DESC",
                _ => " ORDER BY \"timestamp\" DESC, id DESC",
            });
            sql.Append(" LIMIT @limit");
            command.Parameters.AddWithValue("limit", query.Limit + 1);
            command.CommandText = sql.ToString();

            var hits = await AuditSql.ReadEntriesAsync(command);
            var more = hits.Count > query.Limit;
            var page = more ? hits[..query.Limit] : hits;
            var last = more ? page[^1] : null;
            return new AuditSearchPage(page, last is null ? null : new SearchCursor(last.RiskScore ?? 0, last.Timestamp, last.Id).Encode());
        });

    private static void Filter(StringBuilder sql, NpgsqlCommand command, string condition, string name, object? value)
    {
        if (value is not null)
        {
            sql.Append(" AND ").Append(condition);
            command.Parameters.Add(new NpgsqlParameter(name, value is string ? NpgsqlDbType.Text : value is decimal ? NpgsqlDbType.Numeric
                : NpgsqlDbType.TimestampTz) { Value = value });
        }
    }
}
