using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Audit;

/// <summary>
/// One sealed entry of a tenant's chain, with its row when the row still exists. Entries sealed in format v2 have the
/// hashes of their personal parts, and the salts of those parts until an erasure cleared them.
/// </summary>
public sealed record SealedEntry(long Seq, DateTimeOffset AuditTimestamp, Guid AuditId, DateTimeOffset RetentionUntil, byte[] RecordHash,
    byte[] ChainHash, AuditEntry? Row, byte[]? ActorHash = null, byte[]? SubjectHash = null, byte[]? ActorSalt = null, byte[]? SubjectSalt = null)
{
    /// <summary>The canonical content the record hash covers (null when the row is gone).</summary>
    public string? Canonical(Guid tenantId) => Row is null ? null
        : ActorHash is null ? AuditChainFormat.Canonical(tenantId, Row) : AuditChainFormat.CanonicalV2(tenantId, Row, ActorHash, SubjectHash);
}

/// <summary>
/// The SQL of the hash chain (migration 0017): sealing the committed queue of a tenant, reading the chain back, and the
/// signed digests. The head row's lock serializes sealing and signing within a tenant and nothing else.
/// </summary>
public sealed class AuditChainSql(TenantDatabase database)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Links up to <paramref name="batchSize"/> committed, waiting rows of the tenant to its chain: how many, and whether
    /// more were waiting.
    /// </summary>
    public Task<(int Sealed, bool More)> SealAsync(Guid tenantId, int batchSize) =>
        database.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            var (seq, previous) = await LockHeadAsync(transaction, tenantId);
            var waiting = new List<(long PendingId, AuditEntry? Row)>();
            await using (var read = TenantDatabase.TenantCommand(transaction, $"""
                SELECT p.pending_id, {AuditSql.Columns("a.")}
                  FROM audit_chain_pending p
                  LEFT JOIN audit_logs a ON a.tenant_id = p.tenant_id AND a."timestamp" = p.audit_timestamp AND a.id = p.audit_id
                       AND NOT EXISTS (SELECT 1 FROM audit_chain c
                                        WHERE c.tenant_id = p.tenant_id AND c.audit_timestamp = p.audit_timestamp AND c.audit_id = p.audit_id)
                 WHERE p.tenant_id = @tenant
                 ORDER BY p.pending_id
                 LIMIT @limit
                """))
            {
                read.Parameters.AddWithValue("limit", batchSize);
                await using var reader = await read.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    waiting.Add((reader.GetInt64(0), reader.IsDBNull(1) ? null : AuditSql.ReadEntry(reader, 1)));
                }
            }

            if (waiting.Count == 0)
            {
                return (0, false);
            }

            // A queued row that is gone, or chained already (re-inserted by hand), is dropped from the queue unsealed.
            var rows = waiting.Where(w => w.Row is not null).Select(w => w.Row!).ToList();
            var seqs = new long[rows.Count];
            var recordHashes = new byte[rows.Count][];
            var chainHashes = new byte[rows.Count][];
            var actorSalts = new byte[rows.Count][];
            var actorHashes = new byte[rows.Count][];
            var subjectSalts = new byte[]?[rows.Count];
            var subjectHashes = new byte[]?[rows.Count];
            for (var i = 0; i < rows.Count; i++)
            {
                // Format v2: the personal parts enter the record hash through salted hashes (see migration 0019).
                var (actor, subject, _) = AuditChainFormat.PersonalParts(rows[i]);
                actorSalts[i] = RandomNumberGenerator.GetBytes(16);
                actorHashes[i] = AuditChainFormat.PartHash(actorSalts[i], actor);
                if (subject is not null)
                {
                    subjectSalts[i] = RandomNumberGenerator.GetBytes(16);
                    subjectHashes[i] = AuditChainFormat.PartHash(subjectSalts[i]!, subject);
                }

                seqs[i] = ++seq;
                recordHashes[i] = AuditChainFormat.RecordHash(AuditChainFormat.CanonicalV2(tenantId, rows[i], actorHashes[i], subjectHashes[i]));
                previous = chainHashes[i] = AuditChainFormat.Link(previous, recordHashes[i], rows[i].RetentionUntil ?? DateTimeOffset.MaxValue);
            }

            await using var write = TenantDatabase.TenantCommand(transaction, """
                INSERT INTO audit_chain (tenant_id, seq, audit_timestamp, audit_id, retention_until, record_hash, chain_hash, actor_hash,
                                         subject_hash)
                SELECT @tenant, s, t, i, r, rh, ch, ah, sh
                  FROM unnest(@seqs, @times, @ids, @retentions, @records, @chains, @actorHashes, @subjectHashes) AS x(s, t, i, r, rh, ch, ah, sh);
                INSERT INTO audit_personal_salts (tenant_id, audit_timestamp, audit_id, actor_salt, subject_salt)
                SELECT @tenant, t, i, a, s FROM unnest(@times, @ids, @actorSalts, @subjectSalts) AS x(t, i, a, s)
                ON CONFLICT DO NOTHING;
                DELETE FROM audit_chain_pending WHERE tenant_id = @tenant AND pending_id = ANY (@pending);
                UPDATE audit_chain_heads SET seq = @head, chain_hash = @headHash, updated_at = now() WHERE tenant_id = @tenant;
                """);
            write.Parameters.AddWithValue("seqs", seqs);
            write.Parameters.AddWithValue("times", rows.Select(r => r.Timestamp).ToArray());
            write.Parameters.AddWithValue("ids", rows.Select(r => r.Id).ToArray());
            write.Parameters.AddWithValue("retentions", rows.Select(r => r.RetentionUntil ?? DateTimeOffset.MaxValue).ToArray());
            write.Parameters.AddWithValue("records", recordHashes);
            write.Parameters.AddWithValue("chains", chainHashes);
            write.Parameters.AddWithValue("actorHashes", actorHashes);
            write.Parameters.Add(new NpgsqlParameter("subjectHashes", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = subjectHashes });
            write.Parameters.AddWithValue("actorSalts", actorSalts);
            write.Parameters.Add(new NpgsqlParameter("subjectSalts", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = subjectSalts });
            write.Parameters.AddWithValue("pending", waiting.Select(w => w.PendingId).ToArray());
            write.Parameters.AddWithValue("head", seq);
            write.Parameters.AddWithValue("headHash", previous);
            await write.ExecuteNonQueryAsync();
            return (rows.Count, waiting.Count == batchSize);
        });

    /// <summary>Up to <paramref name="limit"/> chain entries after <paramref name="afterSeq"/>, in order, with their rows.</summary>
    public Task<List<SealedEntry>> ReadAsync(Guid tenantId, long afterSeq, long? throughSeq, int limit) =>
        database.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = TenantDatabase.TenantCommand(transaction, $"""
                SELECT c.seq, c.audit_timestamp, c.audit_id, c.retention_until, c.record_hash, c.chain_hash, c.actor_hash, c.subject_hash,
                       p.actor_salt, p.subject_salt, a.id IS NOT NULL, {AuditSql.Columns("a.")}
                  FROM audit_chain c
                  LEFT JOIN audit_logs a ON a.tenant_id = c.tenant_id AND a."timestamp" = c.audit_timestamp AND a.id = c.audit_id
                  LEFT JOIN audit_personal_salts p ON p.tenant_id = c.tenant_id AND p.audit_timestamp = c.audit_timestamp
                       AND p.audit_id = c.audit_id
                 WHERE c.tenant_id = @tenant AND c.seq > @after AND (@through::bigint IS NULL OR c.seq <= @through)
                 ORDER BY c.seq
                 LIMIT @limit
                """);
            command.Parameters.AddWithValue("after", afterSeq);
            command.AddOptional("through", NpgsqlDbType.Bigint, throughSeq);
            command.Parameters.AddWithValue("limit", limit);
            var entries = new List<SealedEntry>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                byte[]? Bytes(int column) => reader.IsDBNull(column) ? null : reader.GetFieldValue<byte[]>(column);
                entries.Add(new SealedEntry(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetGuid(2),
                    reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<byte[]>(4), reader.GetFieldValue<byte[]>(5),
                    reader.GetBoolean(10) ? AuditSql.ReadEntry(reader, 11) : null, Bytes(6), Bytes(7), Bytes(8), Bytes(9)));
            }

            return entries;
        });

    /// <summary>The pseudonyms of the tenant's completed erasures: the only values an erased personal part may hold.</summary>
    public Task<HashSet<string>> CompletedErasuresAsync(Guid tenantId) =>
        database.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = TenantDatabase.TenantCommand(transaction,
                "SELECT id FROM privacy_requests WHERE tenant_id = @tenant AND kind = 'erasure' AND status = 'completed'");
            var pseudonyms = new HashSet<string>(StringComparer.Ordinal);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                pseudonyms.Add(AuditChainFormat.Pseudonym(reader.GetGuid(0)));
            }

            return pseudonyms;
        });

    /// <summary>The chain's end (0 and the genesis hash before the first seal) and how many rows wait to be sealed.</summary>
    public Task<(long Seq, byte[] Hash, long Pending)> ReadHeadAsync(Guid tenantId) =>
        database.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = TenantDatabase.TenantCommand(transaction, """
                SELECT (SELECT seq FROM audit_chain_heads WHERE tenant_id = @tenant), (SELECT chain_hash FROM audit_chain_heads WHERE tenant_id = @tenant),
                       (SELECT count(*) FROM audit_chain_pending WHERE tenant_id = @tenant)
                """);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            return reader.IsDBNull(0)
                ? (0L, AuditChainFormat.Genesis(tenantId), reader.GetInt64(2))
                : (reader.GetInt64(0), reader.GetFieldValue<byte[]>(1), reader.GetInt64(2));
        });

    /// <summary>
    /// The first row of the tenant that is neither in its chain nor waiting for it: one the platform never wrote (the
    /// insert trigger queues every row it writes), so someone inserted it behind the platform's back.
    /// </summary>
    public Task<(Guid Id, DateTimeOffset Timestamp)?> FindUnchainedAsync(Guid tenantId) =>
        database.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = TenantDatabase.TenantCommand(transaction, """
                SELECT a.id, a."timestamp" FROM audit_logs a
                 WHERE a.tenant_id = @tenant
                   AND NOT EXISTS (SELECT 1 FROM audit_chain c
                                    WHERE c.tenant_id = @tenant AND c.audit_timestamp = a."timestamp" AND c.audit_id = a.id)
                   AND NOT EXISTS (SELECT 1 FROM audit_chain_pending p
                                    WHERE p.tenant_id = @tenant AND p.audit_timestamp = a."timestamp" AND p.audit_id = a.id)
                 ORDER BY a."timestamp" LIMIT 1
                """);
            await using var reader = await command.ExecuteReaderAsync();
            return await reader.ReadAsync() ? (reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1)) : ((Guid, DateTimeOffset)?)null;
        });

    /// <summary>
    /// Signs a digest of everything sealed since the last digest, up to the head; null when nothing was sealed since.
    /// The digest names the previous digest's SHA-256, so digests form a chain of their own.
    /// </summary>
    public Task<AuditDigest?> CreateDigestAsync(Guid tenantId, DateTimeOffset now, AuditSigner signer) =>
        database.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            var (head, headHash) = await LockHeadAsync(transaction, tenantId);
            var last = (await ListDigestsAsync(transaction, 1)).FirstOrDefault();
            var firstSeq = (last?.LastSeq ?? 0) + 1;
            if (head < firstSeq)
            {
                return null;
            }

            var previousChainHash = last is null ? AuditChainFormat.Genesis(tenantId) : await ChainHashAtAsync(transaction, last.LastSeq);
            var periodStart = last?.PeriodEnd ?? await FirstSealedAtAsync(transaction);
            var document = JsonSerializer.Serialize(new DigestDocument("phantom-audit-digest-v1", tenantId, periodStart, now, firstSeq, head,
                AuditChainFormat.Hex(previousChainHash), AuditChainFormat.Hex(headHash),
                last is null ? null : AuditChainFormat.Hex(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(last.Document))),
                signer.ActiveKeyId, now), Json);
            var signature = signer.Sign(System.Text.Encoding.UTF8.GetBytes(document));
            var digest = new AuditDigest(Guid.CreateVersion7(), periodStart, now, firstSeq, head, signer.ActiveKeyId, document,
                Convert.ToBase64String(signature), now);
            await using var insert = TenantDatabase.TenantCommand(transaction, """
                INSERT INTO audit_digests (id, tenant_id, period_start, period_end, first_seq, last_seq, document, signature, key_id, created_at)
                VALUES (@id, @tenant, @start, @end, @first, @last, @document, @signature, @key, @created)
                """);
            insert.Parameters.AddWithValue("id", digest.Id);
            insert.Parameters.AddWithValue("start", periodStart);
            insert.Parameters.AddWithValue("end", now);
            insert.Parameters.AddWithValue("first", firstSeq);
            insert.Parameters.AddWithValue("last", head);
            insert.Parameters.AddWithValue("document", document);
            insert.Parameters.AddWithValue("signature", signature);
            insert.Parameters.AddWithValue("key", signer.ActiveKeyId);
            insert.Parameters.AddWithValue("created", now);
            await insert.ExecuteNonQueryAsync();
            return digest;
        });

    /// <summary>The tenant's digests, newest first.</summary>
    public Task<List<AuditDigest>> ListDigestsAsync(Guid tenantId, int limit) =>
        database.InTenantAsync(tenantId, (connection, transaction) => ListDigestsAsync(transaction, limit));

    /// <summary>One digest of the tenant, or null.</summary>
    public Task<AuditDigest?> GetDigestAsync(Guid tenantId, Guid digestId) =>
        database.InTenantAsync(tenantId, async (connection, transaction) =>
            (await ReadDigestsAsync(transaction, "WHERE tenant_id = @tenant AND id = @id", 1, ("id", digestId))).FirstOrDefault());

    /// <summary>The chain hash after entry <paramref name="seq"/> (the genesis hash for 0).</summary>
    public Task<byte[]> ChainHashAtAsync(Guid tenantId, long seq) =>
        seq == 0
            ? Task.FromResult(AuditChainFormat.Genesis(tenantId))
            : database.InTenantAsync(tenantId, (connection, transaction) => ChainHashAtAsync(transaction, seq));

    /// <summary>Tenants with rows waiting to be sealed, most waiting first (across tenants, security definer).</summary>
    public async Task<List<Guid>> TenantsToSealAsync(int limit)
    {
        await using var command = database.CreateCommand("SELECT tenant_id FROM phantom_audit_tenants_to_seal(@limit)");
        command.Parameters.AddWithValue("limit", limit);
        return await ReadGuidsAsync(command, _ => true);
    }

    /// <summary>Tenants whose chain moved past their last digest and whose last digest ended before <paramref name="before"/>.</summary>
    public async Task<List<Guid>> TenantsToDigestAsync(DateTimeOffset before, int limit)
    {
        await using var command = database.CreateCommand("SELECT tenant_id, last_digest_end FROM phantom_audit_tenants_to_digest(@limit)");
        command.Parameters.AddWithValue("limit", limit);
        return await ReadGuidsAsync(command, reader => reader.IsDBNull(1) || reader.GetFieldValue<DateTimeOffset>(1) <= before);
    }

    private static async Task<List<Guid>> ReadGuidsAsync(NpgsqlCommand command, Func<NpgsqlDataReader, bool> keep)
    {
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            if (keep(reader))
            {
                ids.Add(reader.GetGuid(0));
            }
        }

        return ids;
    }

    private static async Task<(long Seq, byte[] Hash)> LockHeadAsync(NpgsqlTransaction transaction, Guid tenantId)
    {
        await using (var create = TenantDatabase.TenantCommand(transaction,
                         "INSERT INTO audit_chain_heads (tenant_id, seq, chain_hash) VALUES (@tenant, 0, @genesis) ON CONFLICT DO NOTHING"))
        {
            create.Parameters.AddWithValue("genesis", AuditChainFormat.Genesis(tenantId));
            await create.ExecuteNonQueryAsync();
        }

        await using var command = TenantDatabase.TenantCommand(transaction,
            "SELECT seq, chain_hash FROM audit_chain_heads WHERE tenant_id = @tenant FOR UPDATE");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetFieldValue<byte[]>(1));
    }

    private static async Task<byte[]> ChainHashAtAsync(NpgsqlTransaction transaction, long seq)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, "SELECT chain_hash FROM audit_chain WHERE tenant_id = @tenant AND seq = @seq");
        command.Parameters.AddWithValue("seq", seq);
        return await command.ExecuteScalarAsync() as byte[]
            ?? throw new InvalidOperationException($"Chain entry {seq} is gone: verify the tenant's chain.");
    }

    private static async Task<DateTimeOffset> FirstSealedAtAsync(NpgsqlTransaction transaction)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "SELECT coalesce(min(audit_timestamp), now()) FROM audit_chain WHERE tenant_id = @tenant AND seq = 1");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return reader.GetFieldValue<DateTimeOffset>(0);
    }

    private static Task<List<AuditDigest>> ListDigestsAsync(NpgsqlTransaction transaction, int limit) =>
        ReadDigestsAsync(transaction, "WHERE tenant_id = @tenant", limit);

    private static async Task<List<AuditDigest>> ReadDigestsAsync(NpgsqlTransaction transaction, string where, int limit,
        params (string Name, object Value)[] parameters)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            SELECT id, period_start, period_end, first_seq, last_seq, key_id, document, signature, created_at
              FROM audit_digests {where} ORDER BY last_seq DESC LIMIT @limit
            """);
        command.Parameters.AddWithValue("limit", limit);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var digests = new List<AuditDigest>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            digests.Add(new AuditDigest(reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.GetInt64(3), reader.GetInt64(4), reader.GetString(5), reader.GetString(6),
                Convert.ToBase64String(reader.GetFieldValue<byte[]>(7)), reader.GetFieldValue<DateTimeOffset>(8)));
        }

        return digests;
    }

    /// <summary>The signed document: what a digest states, in the order it is written.</summary>
    private sealed record DigestDocument(string Format, Guid TenantId, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, long FirstSeq,
        long LastSeq, string PreviousChainHash, string HeadHash, string? PreviousDigestSha256, string KeyId, DateTimeOffset CreatedAt);
}
