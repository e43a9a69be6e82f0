using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Audit;

/// <summary>
/// The SQL of the audit trail. Rows are written through record_audit_event_once(): an idempotency key names one request
/// of one caller, so the row is claimed per (tenant, user, event id) with a fingerprint of the operation, and a replay is
/// told apart from the same key sent with another request. Every value is made fit for its column first (NUL replaced,
/// over-long text cut with a marker), so no input can make the audit insert fail.
/// </summary>
public sealed class AuditSql(TenantDatabase database)
{
    /// <summary>Largest details document kept whole; a larger one is replaced by its beginning and its length.</summary>
    public const int MaxDetailsChars = 32 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Writes the row inside the caller's transaction, so it commits or rolls back with the change it records, unless
    /// this caller recorded this event id before (see <see cref="AuditClaim"/>).
    /// </summary>
    public async Task<AuditClaim> RecordAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId,
        string userId, ClientDetails client, AuditEvent audit, string? eventIdSuffix = null)
    {
        await using var command = new NpgsqlCommand(RecordSql, connection, transaction);
        AddRecordParameters(command.Parameters, tenantId, new PendingAuditRow(userId, client, audit, eventIdSuffix));
        return Claim(await command.ExecuteScalarAsync());
    }

    /// <summary>
    /// One statement that writes several rows of a tenant's batch (<see cref="TenantDatabase.InTenantBatchAsync{T}"/>, which
    /// binds <c>@tenant</c>), in order, each through record_audit_event_once exactly as <see cref="RecordAsync"/> writes
    /// one: a group commit's rows cost one statement, not one each. Read its claims with <see cref="ReadClaimsAsync"/>.
    /// </summary>
    public static NpgsqlBatchCommand RecordManyCommand(IReadOnlyList<PendingAuditRow> rows)
    {
        var command = new NpgsqlBatchCommand("""
            SELECT r.n, record_audit_event_once(@tenant, r.event, r.fingerprint, now(), r.user_id, r.session, r.type::audit_event_type_enum,
                                                r.resource_type, r.resource_id, r.action, r.result::audit_result_enum, r.ip::inet, r.agent, NULL,
                                                r.details::jsonb, NULL, NULL)
              FROM unnest(@events::varchar[], @fingerprints::bytea[], @users::varchar[], @sessions::varchar[], @types::text[],
                          @resourceTypes::varchar[], @resourceIds::varchar[], @actions::varchar[], @results::text[], @ips::text[],
                          @agents::text[], @details::text[])
                   WITH ORDINALITY AS r(event, fingerprint, user_id, session, type, resource_type, resource_id, action, result, ip, agent, details, n)
            """);
        var fitted = rows.Select(Fit).ToArray();
        command.Parameters.AddWithValue("events", fitted.Select(row => row.EventId).ToArray());
        command.Parameters.AddWithValue("fingerprints", fitted.Select(row => row.Fingerprint).ToArray());
        command.Parameters.AddWithValue("users", fitted.Select(row => row.UserId).ToArray());
        command.Parameters.AddWithValue("sessions", fitted.Select(row => row.SessionId).ToArray());
        command.Parameters.AddWithValue("types", fitted.Select(row => row.EventType).ToArray());
        command.Parameters.AddWithValue("resourceTypes", fitted.Select(row => row.ResourceType).ToArray());
        command.Parameters.AddWithValue("resourceIds", fitted.Select(row => row.ResourceId).ToArray());
        command.Parameters.AddWithValue("actions", fitted.Select(row => row.Action).ToArray());
        command.Parameters.AddWithValue("results", fitted.Select(row => row.Result).ToArray());
        command.Parameters.AddWithValue("ips", fitted.Select(row => row.IpAddress?.ToString()).ToArray());
        command.Parameters.AddWithValue("agents", fitted.Select(row => row.UserAgent).ToArray());
        command.Parameters.AddWithValue("details", fitted.Select(row => row.Details).ToArray());
        return command;
    }

    /// <summary>Reads what <see cref="RecordManyCommand"/> found, in the rows' order, and moves to the next statement's result.</summary>
    public static async Task<AuditClaim[]> ReadClaimsAsync(NpgsqlDataReader reader, int count)
    {
        var claims = new AuditClaim[count];
        while (await reader.ReadAsync())
        {
            claims[reader.GetInt64(0) - 1] = Claim(reader.GetValue(1));
        }

        await reader.NextResultAsync();
        return claims;
    }

    private const string RecordSql = """
        SELECT record_audit_event_once(@tenant, @event, @fingerprint, now(), @user, @session, @type::audit_event_type_enum, @resourceType,
                                       @resourceId, @action, @result::audit_result_enum, @ip, @agent, NULL, @details, NULL, NULL)
        """;

    private static AuditClaim Claim(object? claimed) => (short)claimed! switch
    {
        1 => AuditClaim.Recorded,
        0 => AuditClaim.Replay,
        _ => AuditClaim.KeyReused,
    };

    private static void AddRecordParameters(NpgsqlParameterCollection parameters, Guid tenantId, PendingAuditRow entry)
    {
        var row = Fit(entry);
        parameters.AddWithValue("tenant", tenantId);
        parameters.AddWithValue("event", row.EventId);
        parameters.AddWithValue("fingerprint", row.Fingerprint);
        parameters.AddWithValue("user", row.UserId);
        parameters.Add(new NpgsqlParameter("session", NpgsqlDbType.Varchar) { Value = (object?)row.SessionId ?? DBNull.Value });
        parameters.AddWithValue("type", row.EventType);
        parameters.AddWithValue("resourceType", row.ResourceType);
        parameters.AddWithValue("resourceId", row.ResourceId);
        parameters.AddWithValue("action", row.Action);
        parameters.AddWithValue("result", row.Result);
        parameters.Add(new NpgsqlParameter("ip", NpgsqlDbType.Inet) { Value = (object?)row.IpAddress ?? DBNull.Value });
        parameters.Add(new NpgsqlParameter("agent", NpgsqlDbType.Text) { Value = (object?)row.UserAgent ?? DBNull.Value });
        parameters.Add(new NpgsqlParameter("details", NpgsqlDbType.Jsonb) { Value = (object?)row.Details ?? DBNull.Value });
    }

    /// <summary>A row's values made fit for their columns, whether written alone or with others.</summary>
    private sealed record FittedRow(string EventId, byte[] Fingerprint, string UserId, string? SessionId, string EventType, string ResourceType,
        string ResourceId, string Action, string Result, System.Net.IPAddress? IpAddress, string? UserAgent, string? Details);

    private static FittedRow Fit(PendingAuditRow row)
    {
        var (userId, client, audit, eventIdSuffix) = row;
        var details = DetailsJson(audit.Details);
        return new FittedRow(BoundedText.Fit(client.RequestId + eventIdSuffix, 255)!, Fingerprint(audit, details), BoundedText.Fit(userId, 255)!,
            BoundedText.Fit(client.SessionId, 255), audit.EventType, BoundedText.Fit(audit.ResourceType, 100)!, BoundedText.Fit(audit.ResourceId, 255)!,
            BoundedText.Fit(audit.Action, 100)!, audit.Result, System.Net.IPAddress.TryParse(client.IpAddress, out var address) ? address : null,
            BoundedText.Fit(client.UserAgent, 1024), details);
    }

    /// <summary>The suffix of a row written for an attempt that changed nothing: a row of its own for each attempt.</summary>
    public static string AttemptSuffix(AuditEvent audit) => $":{audit.Result}:{Guid.CreateVersion7():N}";

    /// <summary>
    /// Writes a row in a transaction of its own: an attempt that changed nothing (denied, failed), or something the
    /// platform did by itself (maintenance, sweeps). Each gets a row of its own: its event id is the request id plus the
    /// result and a fresh suffix, so a hundred refused probes under one idempotency key leave a hundred rows.
    /// </summary>
    public Task RecordAloneAsync(Guid tenantId, string userId, ClientDetails client, AuditEvent audit) =>
        database.InTenantAsync(tenantId, (connection, transaction) =>
            RecordAsync(connection, transaction, tenantId, userId, client, audit, AttemptSuffix(audit)));

    /// <summary>Whether <paramref name="userId"/> recorded <paramref name="eventId"/> in the tenant (a request applied before).</summary>
    public Task<bool> WasRecordedAsync(Guid tenantId, string userId, string eventId) =>
        database.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand(
                "SELECT EXISTS (SELECT 1 FROM audit_event_ids WHERE user_id = @user AND event_id = @id)", connection, transaction);
            command.Parameters.AddWithValue("user", userId);
            command.Parameters.AddWithValue("id", eventId);
            return (bool)(await command.ExecuteScalarAsync())!;
        });

    /// <summary>
    /// One page of a tenant's trail, newest first by (timestamp, id) over idx_audit_logs_tenant_time, after the keyset
    /// cursor (<paramref name="afterTime"/>, <paramref name="afterId"/>); <paramref name="limit"/> rows at most.
    /// </summary>
    public Task<List<AuditEntry>> QueryAsync(Guid tenantId, AuditQuery query, DateTimeOffset? afterTime, Guid? afterId, int limit) =>
        database.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand($"""
                SELECT {Columns("")}
                  FROM audit_logs
                 WHERE (@from::timestamptz IS NULL OR "timestamp" >= @from)
                   AND (@to::timestamptz IS NULL OR "timestamp" < @to)
                   AND (@eventType::text IS NULL OR event_type::text = @eventType)
                   AND (@resourceType::text IS NULL OR resource_type = @resourceType)
                   AND (@resourceId::text IS NULL OR resource_id = @resourceId)
                   AND (@userId::text IS NULL OR user_id = @userId)
                   AND (@action::text IS NULL OR action = @action)
                   AND (@result::text IS NULL OR result::text = @result)
                   AND (@afterTime::timestamptz IS NULL OR ("timestamp", id) < (@afterTime, @afterId))
                 ORDER BY "timestamp" DESC, id DESC
                 LIMIT @limit
                """, connection, transaction);
            command.AddOptional("from", NpgsqlDbType.TimestampTz, query.From);
            command.AddOptional("to", NpgsqlDbType.TimestampTz, query.To);
            command.AddOptional("eventType", NpgsqlDbType.Text, query.EventType);
            command.AddOptional("resourceType", NpgsqlDbType.Text, query.ResourceType);
            command.AddOptional("resourceId", NpgsqlDbType.Text, query.ResourceId);
            command.AddOptional("userId", NpgsqlDbType.Text, query.UserId);
            command.AddOptional("action", NpgsqlDbType.Text, query.Action);
            command.AddOptional("result", NpgsqlDbType.Text, query.Result);
            command.AddOptional("afterTime", NpgsqlDbType.TimestampTz, afterTime);
            command.AddOptional("afterId", NpgsqlDbType.Uuid, afterId);
            command.Parameters.AddWithValue("limit", limit);

            return await ReadEntriesAsync(command);
        });

    /// <summary>The columns <see cref="ReadEntry"/> reads, in its order; prefix them with a table alias by <paramref name="alias"/>.</summary>
    public static string Columns(string alias) => $"""
        {alias}id, {alias}event_id, {alias}"timestamp", {alias}user_id, {alias}session_id, {alias}event_type::text, {alias}resource_type,
        {alias}resource_id, {alias}action, {alias}result::text, host({alias}ip_address), {alias}user_agent, {alias}details::text,
        {alias}risk_score, {alias}compliance_tags, {alias}retention_until
        """;

    /// <summary>Reads an entry from <see cref="Columns"/> starting at column <paramref name="first"/>.</summary>
    public static AuditEntry ReadEntry(NpgsqlDataReader reader, int first = 0) => new(reader.GetGuid(first),
        reader.GetString(first + 1), reader.GetFieldValue<DateTimeOffset>(first + 2), reader.GetString(first + 3), Nullable(reader, first + 4),
        reader.GetString(first + 5), reader.GetString(first + 6), reader.GetString(first + 7), reader.GetString(first + 8),
        reader.GetString(first + 9), Nullable(reader, first + 10), Nullable(reader, first + 11), Nullable(reader, first + 12),
        reader.IsDBNull(first + 13) ? null : reader.GetDecimal(first + 13),
        reader.IsDBNull(first + 14) ? null : reader.GetFieldValue<string[]>(first + 14),
        reader.IsDBNull(first + 15) ? null : reader.GetFieldValue<DateTimeOffset>(first + 15));

    /// <summary>Every entry <paramref name="command"/> returns (it selects <see cref="Columns"/> first).</summary>
    public static async Task<List<AuditEntry>> ReadEntriesAsync(NpgsqlCommand command)
    {
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            entries.Add(ReadEntry(reader));
        }

        return entries;
    }

    /// <summary>The details as JSON fit for jsonb: no NUL (PostgreSQL refuses <c>\u0000</c>), at most <see cref="MaxDetailsChars"/>.</summary>
    private static string? DetailsJson(object? details)
    {
        if (details is null)
        {
            return null;
        }

        var json = JsonSerializer.Serialize(details, Json).Replace("\\u0000", "\\uFFFD", StringComparison.Ordinal);
        return json.Length <= MaxDetailsChars
            ? json
            : JsonSerializer.Serialize(new { cut = true, length = json.Length, beginning = json[..1000] }, Json)
                .Replace("\\u0000", "\\uFFFD", StringComparison.Ordinal);
    }

    /// <summary>What makes two requests under one idempotency key the same request: the operation, its resource and its details.</summary>
    private static byte[] Fingerprint(AuditEvent audit, string? details) =>
        SHA256.HashData(Encoding.UTF8.GetBytes($"{audit.EventType}\n{audit.ResourceType}\n{audit.ResourceId}\n{audit.Action}\n{details}"));

    private static string? Nullable(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
