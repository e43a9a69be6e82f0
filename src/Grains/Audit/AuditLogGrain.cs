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
public sealed class AuditLogGrain(AuditSql auditSql, AuditChainSql chainSql, AuditChainVerifier verifier, AuditSigner signer, IAuditSearch search,
    AccessGuard guard) : Grain, IAuditLogGrain
{
    /// <summary>Entries one digest bundle carries at most (about 60 MB of JSON); a longer period is checked through verify.</summary>
    private const int MaxBundleEntries = 100_000;

    private static readonly HashSet<string> EventTypes =
    [
        "authentication", "authorization", "tenant_management", "user_management", "data_access", "data_modification",
        "configuration_change", "model_lifecycle", "training", "inference", "agent_execution", "compliance", "system",
    ];

    private static readonly HashSet<string> Results = [AuditEvent.Success, AuditEvent.Failure, AuditEvent.Denied];

    /// <inheritdoc />
    public async Task<AuditPage> QueryAsync(AuditQuery query)
    {
        var (_, id) = await AuthorizeAsync(Permissions.AuditRead, "audit-log", "query");
        Validate(query ?? throw PhantomException.Invalid("Send the query's filters.", "body"));
        var (afterTime, afterId) = DecodeCursor(query.Cursor);
        var entries = await auditSql.QueryAsync(id, query, afterTime, afterId, query.Limit + 1);
        var more = entries.Count > query.Limit;
        var page = more ? entries[..query.Limit] : entries;
        return new AuditPage(page, more ? EncodeCursor(page[^1]) : null);
    }

    /// <inheritdoc />
    public async Task<AuditSearchPage> SearchAsync(AuditSearchQuery query)
    {
        var (_, id) = await AuthorizeAsync(Permissions.AuditRead, "audit-log", "search");
        return await search.SearchAsync(id, AuditSearchParser.Parse(query));
    }

    /// <inheritdoc />
    public async Task<AuditSearchStatus> GetSearchStatusAsync()
    {
        var (_, id) = await AuthorizeAsync(Permissions.AuditRead, "audit-log", "search-status");
        var (head, _, pending) = await chainSql.ReadHeadAsync(id);
        var (indexed, at) = await search.ProgressAsync(id, head);
        return new AuditSearchStatus(search.Backend, indexed, head, Math.Max(0, head - indexed), pending, at);
    }

    /// <inheritdoc />
    public async Task<ChainVerification> VerifyAsync()
    {
        var (caller, id) = await AuthorizeAsync(Permissions.AuditRead, "audit-chain", "verify");
        await GrainFactory.AuditChain(id).SealAsync();
        var verification = await verifier.VerifyAsync(id);
        // Checking the chain is a compliance action of its own; its row is sealed by the next pass.
        await auditSql.RecordAloneAsync(id, caller.UserId, caller.Client, new AuditEvent("compliance", "audit-chain", this.GetPrimaryKeyString(),
            "verify", verification.Valid ? AuditEvent.Success : AuditEvent.Failure,
            new { verification.Valid, verification.EntriesChecked, verification.HeadSeq, verification.Break }));
        return verification;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AuditDigest>> ListDigestsAsync(int limit)
    {
        var (_, id) = await AuthorizeAsync(Permissions.AuditRead, "audit-digest", "list");
        return limit is < 1 or > 1000
            ? throw PhantomException.Invalid("limit must be 1-1000.", "limit")
            : await chainSql.ListDigestsAsync(id, limit);
    }

    /// <inheritdoc />
    public async Task<AuditDigestBundle> GetDigestBundleAsync(Guid digestId)
    {
        var (caller, id) = await AuthorizeAsync(Permissions.AuditRead, "audit-digest", "export", digestId.ToString());
        var digest = await chainSql.GetDigestAsync(id, digestId) ?? throw PhantomException.NotFound("audit digest", digestId.ToString());
        if (digest.LastSeq - digest.FirstSeq + 1 > MaxBundleEntries)
        {
            throw PhantomException.Invalid($"This digest covers more than {MaxBundleEntries} entries: check it with verify.", "digestId");
        }

        var entries = await chainSql.ReadAsync(id, digest.FirstSeq - 1, digest.LastSeq, MaxBundleEntries);
        var bundle = new AuditDigestBundle(digest, AuditChainFormat.Hex(await chainSql.ChainHashAtAsync(id, digest.FirstSeq - 1)),
            entries.Select(e => new ChainEntry(e.Seq, e.Canonical(id), AuditChainFormat.Hex(e.RecordHash),
                e.RetentionUntil, AuditChainFormat.Hex(e.ChainHash))).ToList(),
            signer.PublicKeyPem(digest.KeyId) ?? "");
        await auditSql.RecordAloneAsync(id, caller.UserId, caller.Client, new AuditEvent("data_access", "audit-digest", digestId.ToString(), "export",
            Details: new { entries = entries.Count }));
        return bundle;
    }

    /// <inheritdoc />
    public async Task<AuditDigest?> CreateDigestAsync()
    {
        var (caller, id) = await AuthorizeAsync(Permissions.AuditManage, "audit-digest", "create");
        var digest = await GrainFactory.AuditChain(id).CreateDigestAsync();
        await auditSql.RecordAloneAsync(id, caller.UserId, caller.Client, new AuditEvent("compliance", "audit-digest",
            digest?.Id.ToString() ?? "none", "create", Details: digest is null ? new { created = false } : new { digest.FirstSeq, digest.LastSeq }));
        return digest;
    }

    /// <summary>
    /// Authorizes the caller on this trail: a tenant's for its users with <paramref name="permission"/>, the platform's own
    /// trail (platform-admin actions, system jobs) for platform admins only.
    /// </summary>
    private async Task<(Caller Caller, Guid TenantId)> AuthorizeAsync(string permission, string resourceType, string action, string? resourceId = null)
    {
        var key = this.GetPrimaryKeyString();
        var audit = new AuditEvent("data_access", resourceType, resourceId ?? key, action);
        if (key == PlatformTenant.Key)
        {
            return (await guard.AuthorizePlatformAsync(permission, audit), PlatformTenant.Id);
        }

        var access = await guard.AuthorizeAsync(key, permission, audit);
        return (access.Caller, access.TenantId);
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
