using System.Globalization;
using System.Text;
using Orleans.Concurrency;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Audit;

/// <summary>
/// See <see cref="IAuditLogGrain"/>. Pages newest first by (timestamp, id) with a keyset cursor, so a page costs the
/// same however deep it is.
/// </summary>
[StatelessWorker]
public sealed class AuditLogGrain(AuditSql auditSql, AccessGuard guard) : Grain, IAuditLogGrain
{
    private static readonly HashSet<string> EventTypes =
    [
        "authentication", "authorization", "tenant_management", "user_management", "data_access", "data_modification",
        "configuration_change", "model_lifecycle", "training", "inference", "agent_execution", "compliance", "system",
    ];

    private static readonly HashSet<string> Results = [AuditEvent.Success, AuditEvent.Failure, AuditEvent.Denied];

    /// <inheritdoc />
    public async Task<AuditPage> QueryAsync(AuditQuery query)
    {
        var key = this.GetPrimaryKeyString();
        var audit = new AuditEvent("data_access", "audit-log", key, "query");
        Guid id;
        if (key == PlatformTenant.Key)
        {
            // The platform's own trail (platform-admin actions, system jobs) is for platform admins.
            await guard.AuthorizePlatformAsync(Permissions.AuditRead, audit);
            id = PlatformTenant.Id;
        }
        else
        {
            id = (await guard.AuthorizeAsync(key, Permissions.AuditRead, audit)).TenantId;
        }

        Validate(query ?? throw PhantomException.Invalid("Send the query's filters.", "body"));
        var (afterTime, afterId) = DecodeCursor(query.Cursor);
        var entries = await auditSql.QueryAsync(id, query, afterTime, afterId, query.Limit + 1);
        var more = entries.Count > query.Limit;
        var page = more ? entries[..query.Limit] : entries;
        return new AuditPage(page, more ? EncodeCursor(page[^1]) : null);
    }

    private static void Validate(AuditQuery query)
    {
        if (query.Limit is < 1 or > 500)
        {
            throw PhantomException.Invalid("limit must be 1-500.", "limit");
        }

        PlausibleTime.Check(query.From, "from");
        PlausibleTime.Check(query.To, "to");
        if (query.From > query.To)
        {
            throw PhantomException.Invalid("from must not be after to.", "from");
        }

        if (query.EventType is not null && !EventTypes.Contains(query.EventType))
        {
            throw PhantomException.Invalid($"eventType must be one of {string.Join(", ", EventTypes.Order())}.", "eventType");
        }

        if (query.Result is not null && !Results.Contains(query.Result))
        {
            throw PhantomException.Invalid("result must be success, failure or denied.", "result");
        }

        foreach (var (value, field, max) in new[] { (query.ResourceType, "resourceType", 100), (query.ResourceId, "resourceId", 255),
                     (query.UserId, "userId", 255), (query.Action, "action", 100), (query.Cursor, "cursor", 200) })
        {
            if (value is not null && (value.Length > max || value.Contains('\0')))
            {
                throw PhantomException.Invalid($"{field} is at most {max} characters, without NUL.", field);
            }
        }
    }

    // The cursor is the last row's (timestamp, id), opaque to clients.
    private static string EncodeCursor(AuditEntry last) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{last.Timestamp.UtcTicks.ToString(CultureInfo.InvariantCulture)}:{last.Id}"));

    private static (DateTimeOffset?, Guid?) DecodeCursor(string? cursor)
    {
        if (cursor is null)
        {
            return (null, null);
        }

        try
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(cursor)).Split(':');
            return (new DateTimeOffset(long.Parse(parts[0], CultureInfo.InvariantCulture), TimeSpan.Zero), Guid.Parse(parts[1]));
        }
        catch (Exception e) when (e is FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException)
        {
            throw PhantomException.Invalid("cursor is not one this API returned.", "cursor");
        }
    }
}
