using System.Text;
using System.Text.Json;

namespace PhantomMl.Grains.Audit;

/// <summary>
/// Walks a tenant's chain from its genesis and reports the first place it does not hold (see <see cref="ChainBreak"/>):
/// each row's content against its record hash, each link against the one before, each signed digest against its
/// signature and the chain at its last entry, the head against the last entry, and every row of the tenant against the
/// chain. A row may be missing only once its retention_until (bound into the link) has passed.
/// </summary>
public sealed class AuditChainVerifier(AuditChainSql chainSql, AuditSigner signer, TimeProvider time)
{
    private const int PageSize = 10_000;

    /// <summary>Checks the whole chain of <paramref name="tenantId"/>.</summary>
    public async Task<ChainVerification> VerifyAsync(Guid tenantId)
    {
        var now = time.GetUtcNow();
        var digests = await chainSql.ListDigestsAsync(tenantId, int.MaxValue);
        var signedHeads = new Dictionary<long, string>();
        foreach (var digest in digests)
        {
            using var document = JsonDocument.Parse(digest.Document);
            if (DigestProblem(tenantId, digest, document.RootElement) is { } problem)
            {
                return Broken(new ChainBreak("digest", digest.LastSeq, null, digest.PeriodEnd, problem), 0, 0, digests.Count, now);
            }

            signedHeads[digest.LastSeq] = document.RootElement.GetProperty("headHash").GetString()!;
        }

        var erased = await chainSql.CompletedErasuresAsync(tenantId);
        var previous = AuditChainFormat.Genesis(tenantId);
        long expected = 1, retired = 0;
        while (true)
        {
            var page = await chainSql.ReadAsync(tenantId, expected - 1, null, PageSize);
            foreach (var entry in page)
            {
                if (CheckEntry(tenantId, entry, expected, previous, now, erased) is { } broken)
                {
                    return Broken(broken, expected - 1, retired, digests.Count, now);
                }

                if (entry.Row is null)
                {
                    retired++;
                }

                previous = entry.ChainHash;
                if (signedHeads.TryGetValue(entry.Seq, out var signed) && signed != AuditChainFormat.Hex(previous))
                {
                    return Broken(new ChainBreak("digest", entry.Seq, entry.AuditId, entry.AuditTimestamp,
                        "The chain at this entry is not what a signed digest states: entries before it were rewritten."), expected, retired,
                        digests.Count, now);
                }

                expected++;
            }

            if (page.Count < PageSize)
            {
                break;
            }
        }

        var last = expected - 1;
        var (headSeq, headHash, _) = await chainSql.ReadHeadAsync(tenantId);
        if (headSeq != last || !headHash.AsSpan().SequenceEqual(previous))
        {
            return Broken(new ChainBreak("link", last + 1, null, null,
                $"The chain ends at entry {last} but its head says {headSeq}: entries at the end were removed."), last, retired, digests.Count, now);
        }

        if (digests.Count > 0 && digests[0].LastSeq > last)
        {
            return Broken(new ChainBreak("digest", digests[0].LastSeq, null, digests[0].PeriodEnd,
                "A signed digest covers entries the chain no longer has."), last, retired, digests.Count, now);
        }

        if (await chainSql.FindUnchainedAsync(tenantId) is { } unchained)
        {
            return Broken(new ChainBreak("unchained", null, unchained.Id, unchained.Timestamp,
                "This row was never sealed by the platform: it was inserted behind its back."), last, retired, digests.Count, now);
        }

        return new ChainVerification(true, last, retired, headSeq, AuditChainFormat.Hex(headHash), digests.Count, null, now);
    }

    private static ChainBreak? CheckEntry(Guid tenantId, SealedEntry entry, long expected, byte[] previous, DateTimeOffset now,
        IReadOnlySet<string> erased)
    {
        if (entry.Seq != expected)
        {
            return new ChainBreak("link", expected, null, null, $"Entry {expected} is missing from the chain (the next one is {entry.Seq}).");
        }

        if (entry.Row is null && entry.RetentionUntil > now)
        {
            return new ChainBreak("missing", entry.Seq, entry.AuditId, entry.AuditTimestamp,
                $"The row was deleted before its retention ended ({entry.RetentionUntil:o}).");
        }

        if (entry.Row is not null && PersonalPartProblem(entry, entry.Row, erased) is { } problem)
        {
            return new ChainBreak("altered", entry.Seq, entry.AuditId, entry.AuditTimestamp, problem);
        }

        if (entry.Row is not null && !AuditChainFormat.RecordHash(entry.Canonical(tenantId)!).AsSpan().SequenceEqual(entry.RecordHash))
        {
            return new ChainBreak("altered", entry.Seq, entry.AuditId, entry.AuditTimestamp, "The row's content is not what was sealed.");
        }

        return AuditChainFormat.Link(previous, entry.RecordHash, entry.RetentionUntil).AsSpan().SequenceEqual(entry.ChainHash)
            ? null
            : new ChainBreak("link", entry.Seq, entry.AuditId, entry.AuditTimestamp, "The entry does not follow the one before it.");
    }

    /// <summary>
    /// A v2 row's personal parts: with its salt, a part must hash to what was sealed; without (an erasure cleared it), the
    /// part must be blank and name a completed erasure, or the salt was deleted to hide a change.
    /// </summary>
    private static string? PersonalPartProblem(SealedEntry entry, AuditEntry row, IReadOnlySet<string> erased)
    {
        if (entry.ActorHash is null)
        {
            return null; // format v1: everything is in the record hash
        }

        var (actor, subject, _) = AuditChainFormat.PersonalParts(row);
        if (entry.ActorSalt is { } actorSalt
                ? !AuditChainFormat.PartHash(actorSalt, actor).AsSpan().SequenceEqual(entry.ActorHash)
                : !erased.Contains(row.UserId) || row.SessionId is not null || row.IpAddress is not null || row.UserAgent is not null)
        {
            return "Who acted (user, session, address or user agent) is not what was sealed.";
        }

        if (entry.SubjectHash is null && subject is not null)
        {
            return "The row names a user or personal details it did not have when it was sealed.";
        }

        if (entry.SubjectHash is { } subjectHash && (entry.SubjectSalt is { } subjectSalt
                ? subject is null || !AuditChainFormat.PartHash(subjectSalt, subject).AsSpan().SequenceEqual(subjectHash)
                : !AuditChainFormat.SubjectErased(row, erased)))
        {
            return "Who the row is about (the user's id or personal details) is not what was sealed.";
        }

        return null;
    }

    private string? DigestProblem(Guid tenantId, AuditDigest digest, JsonElement document)
    {
        if (!signer.Verify(digest.KeyId, Encoding.UTF8.GetBytes(digest.Document), Convert.FromBase64String(digest.Signature)))
        {
            return $"The digest's signature does not verify with key '{digest.KeyId}'.";
        }

        return document.GetProperty("tenantId").GetGuid() == tenantId && document.GetProperty("lastSeq").GetInt64() == digest.LastSeq
            ? null
            : "The digest's stored columns do not match its signed document.";
    }

    private static ChainVerification Broken(ChainBreak broken, long checkedEntries, long retired, int digests, DateTimeOffset now) =>
        new(false, checkedEntries, retired, 0, "", digests, broken, now);
}
