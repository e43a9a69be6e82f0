
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Audit;

/// <summary>One audit record.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.audit.AuditEntry")]
public sealed record AuditEntry(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string EventId,
    [property: Id(2)] DateTimeOffset Timestamp,
    [property: Id(3)] string UserId,
    [property: Id(4)] string? SessionId,
    [property: Id(5)] string EventType,
    [property: Id(6)] string ResourceType,
    [property: Id(7)] string ResourceId,
    [property: Id(8)] string Action,
    [property: Id(9)] string Result,
    [property: Id(10)] string? IpAddress,
    [property: Id(11)] string? UserAgent,
    [property: Id(12)] string? Details);

/// <summary>Filters of an audit query; all optional. <see cref="Cursor"/> continues a previous page.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.audit.AuditQuery")]
public sealed record AuditQuery(
    [property: Id(0)] DateTimeOffset? From = null,
    [property: Id(1)] DateTimeOffset? To = null,
    [property: Id(2)] string? EventType = null,
    [property: Id(3)] string? ResourceType = null,
    [property: Id(4)] string? ResourceId = null,
    [property: Id(5)] string? UserId = null,
    [property: Id(6)] string? Action = null,
    [property: Id(7)] string? Result = null,
    [property: Id(8)] int Limit = 100,
    [property: Id(9)] string? Cursor = null);

/// <summary>A page of audit records, newest first, and the cursor of the next page (null at the end).</summary>
[GenerateSerializer, Immutable, Alias("phantomml.audit.AuditPage")]
public sealed record AuditPage([property: Id(0)] IReadOnlyList<AuditEntry> Entries, [property: Id(1)] string? NextCursor);

/// <summary>Reads a tenant's audit trail (key: tenant key). Stateless: reads scale out across silos.</summary>
[ClientCallable]
[Alias("phantomml.audit.IAuditLogGrain")]
public interface IAuditLogGrain : IGrainWithStringKey
{
    /// <summary>Queries the trail with filters and keyset pagination (auditor, tenant admin, platform admin).</summary>
    [Alias("QueryAsync")] Task<AuditPage> QueryAsync(AuditQuery query);
}
