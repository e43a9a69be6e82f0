using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Audit;

/// <summary>What an audit row says happened; who did it comes from the <see cref="Caller"/>.</summary>
public sealed record AuditEvent(string EventType, string ResourceType, string ResourceId, string Action, string Result = AuditEvent.Success, object? Details = null)
{
    public const string Success = "success";
    public const string Failure = "failure";
    public const string Denied = "denied";

    /// <summary>The same event with another result and details.</summary>
    public AuditEvent As(string result, object? details) => this with { Result = result, Details = details };
}

/// <summary>What recording an event with a caller's idempotency key found.</summary>
public enum AuditClaim
{
    /// <summary>The event is new and was recorded.</summary>
    Recorded,

    /// <summary>The same caller sent the same request under this key before: nothing was written.</summary>
    Replay,

    /// <summary>The same caller used this key before for a different request: nothing was written.</summary>
    KeyReused,
}

/// <summary>
/// Writes audit rows through record_audit_event_once(). An idempotency key names one request of one caller: the row is
/// claimed per (tenant, user, event id) with a fingerprint of the operation, so a replay is told apart from the same
/// key sent with another request. Every value is made fit for its column first (NUL replaced, over-long text cut with
/// a marker), so no input can make the audit insert fail.
/// </summary>
public static class AuditRecorder
{
    /// <summary>Largest details document kept whole; a larger one is replaced by its beginning and its length.</summary>
    public const int MaxDetailsChars = 32 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Writes the row inside the caller's transaction, so it commits or rolls back with the change it records, unless
    /// this caller recorded this event id before (see <see cref="AuditClaim"/>).
    /// </summary>
    public static async Task<AuditClaim> RecordAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId,
        string userId, ClientDetails client, AuditEvent audit, string? eventIdSuffix = null)
    {
        var details = DetailsJson(audit.Details);
        await using var command = new NpgsqlCommand("""
            SELECT record_audit_event_once(@tenant, @event, @fingerprint, now(), @user, @session, @type::audit_event_type_enum, @resourceType,
                                           @resourceId, @action, @result::audit_result_enum, @ip, @agent, NULL, @details, NULL, NULL)
            """, connection, transaction);
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("event", BoundedText.Fit(client.RequestId + eventIdSuffix, 255)!);
        command.Parameters.AddWithValue("fingerprint", Fingerprint(audit, details));
        command.Parameters.AddWithValue("user", BoundedText.Fit(userId, 255)!);
        command.Parameters.Add(new NpgsqlParameter("session", NpgsqlDbType.Varchar) { Value = (object?)BoundedText.Fit(client.SessionId, 255) ?? DBNull.Value });
        command.Parameters.AddWithValue("type", audit.EventType);
        command.Parameters.AddWithValue("resourceType", BoundedText.Fit(audit.ResourceType, 100)!);
        command.Parameters.AddWithValue("resourceId", BoundedText.Fit(audit.ResourceId, 255)!);
        command.Parameters.AddWithValue("action", BoundedText.Fit(audit.Action, 100)!);
        command.Parameters.AddWithValue("result", audit.Result);
        command.Parameters.Add(new NpgsqlParameter("ip", NpgsqlDbType.Inet) { Value = ParseAddress(client.IpAddress) });
        command.Parameters.Add(new NpgsqlParameter("agent", NpgsqlDbType.Text) { Value = (object?)BoundedText.Fit(client.UserAgent, 1024) ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("details", NpgsqlDbType.Jsonb) { Value = (object?)details ?? DBNull.Value });
        return (short)(await command.ExecuteScalarAsync())! switch
        {
            1 => AuditClaim.Recorded,
            0 => AuditClaim.Replay,
            _ => AuditClaim.KeyReused,
        };
    }

    /// <summary>
    /// Writes the row of an attempt that changed nothing (denied, failed) in a transaction of its own. Every attempt gets a
    /// row of its own: its event id is the request id plus the result and a fresh suffix, so a hundred refused probes under
    /// one idempotency key leave a hundred rows.
    /// </summary>
    public static Task RecordAttemptAsync(TenantDatabase database, Guid tenantId, string userId, ClientDetails client, AuditEvent audit) =>
        database.InTenantAsync(tenantId, (connection, transaction) =>
            RecordAsync(connection, transaction, tenantId, userId, client, audit, eventIdSuffix: $":{audit.Result}:{Guid.CreateVersion7():N}"));

    /// <summary>Writes a row of something the platform did by itself (maintenance, sweeps), in a transaction of its own.</summary>
    public static Task RecordAloneAsync(TenantDatabase database, Guid tenantId, string userId, ClientDetails client, AuditEvent audit) =>
        RecordAttemptAsync(database, tenantId, userId, client, audit);

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
            : JsonSerializer.Serialize(new { cut = true, length = json.Length, beginning = json[..1000] }, Json).Replace("\\u0000", "\\uFFFD", StringComparison.Ordinal);
    }

    /// <summary>What makes two requests under one idempotency key the same request: the operation, its resource and its details.</summary>
    private static byte[] Fingerprint(AuditEvent audit, string? details) =>
        SHA256.HashData(Encoding.UTF8.GetBytes($"{audit.EventType}\n{audit.ResourceType}\n{audit.ResourceId}\n{audit.Action}\n{details}"));

    private static object ParseAddress(string? address) =>
        System.Net.IPAddress.TryParse(address, out var parsed) ? parsed : DBNull.Value;
}
