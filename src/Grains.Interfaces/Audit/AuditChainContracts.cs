namespace PhantomMl.Grains.Audit;

/// <summary>What checking a tenant's hash chain found. <see cref="Break"/> is null when every link holds.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.audit.ChainVerification")]
public sealed record ChainVerification(
    [property: Id(0)] bool Valid,
    [property: Id(1)] long EntriesChecked,
    [property: Id(2)] long RetiredEntries,
    [property: Id(3)] long HeadSeq,
    [property: Id(4)] string HeadHash,
    [property: Id(5)] int DigestsChecked,
    [property: Id(6)] ChainBreak? Break,
    [property: Id(7)] DateTimeOffset CheckedAt);

/// <summary>
/// The first place the chain does not hold. Kind: <c>altered</c> (a row's content no longer has its hash),
/// <c>missing</c> (a sealed row is gone before its retention ended), <c>link</c> (an entry does not follow the one before),
/// <c>unchained</c> (a row that was never sealed by the platform: inserted behind its back), <c>digest</c> (a signed digest
/// does not match the chain, or its signature fails).
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.audit.ChainBreak")]
public sealed record ChainBreak(
    [property: Id(0)] string Kind,
    [property: Id(1)] long? Seq,
    [property: Id(2)] Guid? AuditId,
    [property: Id(3)] DateTimeOffset? Timestamp,
    [property: Id(4)] string Detail);

/// <summary>A signed statement of a tenant's chain head: <see cref="Document"/> is the exact signed UTF-8 text.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.audit.AuditDigest")]
public sealed record AuditDigest(
    [property: Id(0)] Guid Id,
    [property: Id(1)] DateTimeOffset PeriodStart,
    [property: Id(2)] DateTimeOffset PeriodEnd,
    [property: Id(3)] long FirstSeq,
    [property: Id(4)] long LastSeq,
    [property: Id(5)] string KeyId,
    [property: Id(6)] string Document,
    [property: Id(7)] string Signature,
    [property: Id(8)] DateTimeOffset CreatedAt);

/// <summary>One sealed entry as checked offline: its canonical content and hashes (hex).</summary>
[GenerateSerializer, Immutable, Alias("phantomml.audit.ChainEntry")]
public sealed record ChainEntry(
    [property: Id(0)] long Seq,
    [property: Id(1)] string? Canonical,
    [property: Id(2)] string RecordHash,
    [property: Id(3)] DateTimeOffset RetentionUntil,
    [property: Id(4)] string ChainHash);

/// <summary>
/// Everything needed to check a digest offline: the digest, the chain hash before its first entry, its entries (a
/// row removed by retention has no canonical content; its record hash stands), and the signing key's public part.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.audit.AuditDigestBundle")]
public sealed record AuditDigestBundle(
    [property: Id(0)] AuditDigest Digest,
    [property: Id(1)] string PreviousChainHash,
    [property: Id(2)] IReadOnlyList<ChainEntry> Entries,
    [property: Id(3)] string PublicKeyPem);

/// <summary>
/// A full-text search. <see cref="Text"/>: words (all must match), <c>"a phrase"</c>, <c>prefix*</c>. Filters are optional;
/// <see cref="Sort"/> is <c>newest</c> (default), <c>oldest</c> or <c>risk</c>; <see cref="Cursor"/> continues a page.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.audit.AuditSearchQuery")]
public sealed record AuditSearchQuery(
    [property: Id(0)] string? Text = null,
    [property: Id(1)] string? UserId = null,
    [property: Id(2)] string? Action = null,
    [property: Id(3)] string? ResourceType = null,
    [property: Id(4)] string? Result = null,
    [property: Id(5)] decimal? MinRisk = null,
    [property: Id(6)] DateTimeOffset? From = null,
    [property: Id(7)] DateTimeOffset? To = null,
    [property: Id(8)] string? Sort = null,
    [property: Id(9)] int Limit = 50,
    [property: Id(10)] string? Cursor = null);

/// <summary>
/// How far the search backend has indexed the tenant's sealed chain: <see cref="LagEntries"/> sealed entries are not
/// searchable yet, and <see cref="PendingSeal"/> rows wait for the chain itself. PostgreSQL searches the trail itself:
/// its lag is always 0.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.audit.AuditSearchStatus")]
public sealed record AuditSearchStatus(
    [property: Id(0)] string Backend,
    [property: Id(1)] long IndexedSeq,
    [property: Id(2)] long HeadSeq,
    [property: Id(3)] long LagEntries,
    [property: Id(4)] long PendingSeal,
    [property: Id(5)] DateTimeOffset? IndexedAt);

/// <summary>A page of search hits and the cursor of the next page (null at the end).</summary>
[GenerateSerializer, Immutable, Alias("phantomml.audit.AuditSearchPage")]
public sealed record AuditSearchPage([property: Id(0)] IReadOnlyList<AuditEntry> Entries, [property: Id(1)] string? NextCursor);
