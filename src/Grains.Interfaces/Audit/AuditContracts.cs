
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
    [property: Id(12)] string? Details,
    [property: Id(13)] decimal? RiskScore = null,
    [property: Id(14)] IReadOnlyList<string>? ComplianceTags = null,
    [property: Id(15)] DateTimeOffset? RetentionUntil = null);

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

    /// <summary>Full-text search: words, "phrases", prefix*, field filters, sorting and keyset paging (audit:read).</summary>
    [Alias("SearchAsync")] Task<AuditSearchPage> SearchAsync(AuditSearchQuery query);

    /// <summary>The search backend and how far behind the chain its index is (audit:read).</summary>
    [Alias("GetSearchStatusAsync")] Task<AuditSearchStatus> GetSearchStatusAsync();

    /// <summary>Seals what is waiting, then checks the whole chain and every digest; reports the first broken link (audit:read).</summary>
    [Alias("VerifyAsync")] Task<ChainVerification> VerifyAsync();

    /// <summary>The tenant's signed digests, newest first (audit:read).</summary>
    [Alias("ListDigestsAsync")] Task<IReadOnlyList<AuditDigest>> ListDigestsAsync(int limit);

    /// <summary>A digest with the chain entries it covers, for checking offline (audit:read).</summary>
    [Alias("GetDigestBundleAsync")] Task<AuditDigestBundle> GetDigestBundleAsync(Guid digestId);

    /// <summary>Seals what is waiting and signs a digest of the chain up to now (audit:manage).</summary>
    [Alias("CreateDigestAsync")] Task<AuditDigest?> CreateDigestAsync();
}

/// <summary>
/// The one sealer of a tenant's hash chain (key: the tenant's id). Only silos call it: the audit sweep, and the audit
/// trail before it verifies or signs.
/// </summary>
[Alias("phantomml.audit.IAuditChainGrain")]
public interface IAuditChainGrain : IGrainWithGuidKey
{
    /// <summary>Links every committed row waiting for the chain; returns how many.</summary>
    [Alias("SealAsync")] Task<int> SealAsync();

    /// <summary>Seals, then signs a digest of what was sealed since the last digest (null when nothing was).</summary>
    [Alias("CreateDigestAsync")] Task<AuditDigest?> CreateDigestAsync();
}

/// <summary>The periodic job that seals every tenant's waiting rows and signs each tenant's digest per period.</summary>
[Alias("phantomml.audit.IAuditSweepGrain")]
public interface IAuditSweepGrain : IGrainWithStringKey
{
    /// <summary>The only key in use.</summary>
    const string ClusterKey = "cluster";

    /// <summary>Registers the reminder (idempotent).</summary>
    [Alias("EnsureScheduledAsync")] Task EnsureScheduledAsync();

    /// <summary>Sweeps now (operators: <c>cluster:operate</c>); returns how many rows it sealed.</summary>
    [Alias("RunAsync")] Task<int> RunAsync();
}
