using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;
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

/// <summary>Writes audit rows through record_audit_event(), idempotent per (tenant, event id).</summary>
public static class AuditRecorder
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Writes the row inside the caller's transaction, so it commits or rolls back with the change it
    /// records. Returns false when this event id was recorded before: the change was already applied.
    /// </summary>
    public static async Task<bool> RecordAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId,
        string userId, ClientDetails client, AuditEvent audit, string? eventIdSuffix = null)
    {
        await using var command = new NpgsqlCommand("""
            SELECT record_audit_event(@tenant, @event, now(), @user, @session, @type::audit_event_type_enum, @resourceType, @resourceId,
                                      @action, @result::audit_result_enum, @ip, @agent, NULL, @details, NULL, NULL)
            """, connection, transaction);
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("event", client.RequestId + eventIdSuffix);
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("session", (object?)client.SessionId ?? DBNull.Value);
        command.Parameters.AddWithValue("type", audit.EventType);
        command.Parameters.AddWithValue("resourceType", audit.ResourceType);
        command.Parameters.AddWithValue("resourceId", audit.ResourceId);
        command.Parameters.AddWithValue("action", audit.Action);
        command.Parameters.AddWithValue("result", audit.Result);
        command.Parameters.Add(new NpgsqlParameter("ip", NpgsqlDbType.Inet) { Value = ParseAddress(client.IpAddress) });
        command.Parameters.AddWithValue("agent", (object?)client.UserAgent ?? DBNull.Value);
        command.Parameters.Add(new NpgsqlParameter("details", NpgsqlDbType.Jsonb)
        {
            Value = audit.Details is null ? DBNull.Value : JsonSerializer.Serialize(audit.Details, Json),
        });
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Writes a row in a transaction of its own: for attempts that changed nothing (denied, failed).</summary>
    public static Task RecordAloneAsync(TenantDatabase database, Guid tenantId, string userId, ClientDetails client, AuditEvent audit) =>
        database.InTenantAsync(tenantId, (connection, transaction) =>
            // The suffix keeps the attempt's row apart from a success row of the same request id.
            RecordAsync(connection, transaction, tenantId, userId, client, audit, eventIdSuffix: ":" + audit.Result));

    private static object ParseAddress(string? address) =>
        System.Net.IPAddress.TryParse(address, out var parsed) ? parsed : DBNull.Value;
}
