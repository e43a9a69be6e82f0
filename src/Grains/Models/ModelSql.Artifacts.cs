using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Models;

/// <summary>The SQL of model_artifacts and artifact_uploads (the tickets of uploads in progress); inside a tenant's unit of work.</summary>
public sealed partial class ModelSql
{
    private const string ArtifactColumns = "v.version, a.artifact_size_bytes, a.artifact_checksum, a.storage_provider, a.storage_path, " +
        "a.compression_type, a.encryption_key_id, a.created_at";

    public async Task<ArtifactView?> FindAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid versionId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            $"SELECT {ArtifactColumns} FROM model_artifacts a JOIN model_versions v ON v.tenant_id = a.tenant_id AND v.id = a.model_version_id " +
                $"WHERE a.tenant_id = @tenant AND a.model_version_id = @version");
        command.Parameters.AddWithValue("version", versionId);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new ArtifactView(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6), reader.GetFieldValue<DateTimeOffset>(7))
            : null;
    }

    public async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ModelRecord model, Guid versionId,
        long size, string sha256, IArtifactStore store, string objectKey)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            INSERT INTO model_artifacts (model_version_id, tenant_id, model_id, artifact_size_bytes, artifact_checksum, storage_provider,
                storage_path, compression_type, encryption_key_id)
            VALUES (@version, @tenant, @model, @size, @sha, @provider, @path, 'none', @encryption);
            UPDATE model_versions SET artifact_uri = @uri WHERE tenant_id = @tenant AND id = @version;
            """);
        command.Parameters.AddWithValue("version", versionId);
        command.Parameters.AddWithValue("model", model.Id);
        command.Parameters.AddWithValue("size", size);
        command.Parameters.AddWithValue("sha", sha256);
        command.Parameters.AddWithValue("provider", store.Provider);
        command.AddOptional("encryption", NpgsqlTypes.NpgsqlDbType.Varchar, store.EncryptionKeyId);
        command.Parameters.AddWithValue("path", objectKey);
        command.Parameters.AddWithValue("uri", $"{store.Provider}://{objectKey}");
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Every object key of a model's artifacts, to delete from the store once the rows are gone.</summary>
    public async Task<List<string>> KeysOfModelAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid modelId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "SELECT storage_path FROM model_artifacts WHERE tenant_id = @tenant AND model_id = @model");
        command.Parameters.AddWithValue("model", modelId);
        var keys = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }

    /// <summary>Total bytes of a model's artifacts, released from the artifact_bytes quota when it is deleted.</summary>
    public async Task<long> BytesOfModelAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid modelId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "SELECT coalesce(sum(artifact_size_bytes), 0)::bigint FROM model_artifacts WHERE tenant_id = @tenant AND model_id = @model");
        command.Parameters.AddWithValue("model", modelId);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    // ---- Upload tickets ----------------------------------------------------------------------------

    /// <summary>A ticket as stored, with the model and version it belongs to.</summary>
    public sealed record UploadRow(Guid ModelId, Guid VersionId, ArtifactUploadTicket Ticket);

    public async Task InsertUploadAsync(NpgsqlTransaction transaction, Guid modelId, Guid versionId, ArtifactUploadTicket ticket, string createdBy)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            INSERT INTO artifact_uploads (id, tenant_id, model_id, version_id, object_key, size_bytes, api_key_id, created_by, expires_at)
            VALUES (@id, @tenant, @model, @version, @key, @size, @apiKey, @by, @expires)
            """);
        command.Parameters.AddWithValue("id", ticket.UploadId);
        command.Parameters.AddWithValue("model", modelId);
        command.Parameters.AddWithValue("version", versionId);
        command.Parameters.AddWithValue("key", ticket.ObjectKey);
        command.Parameters.AddWithValue("size", ticket.SizeBytes);
        command.AddOptional("apiKey", NpgsqlTypes.NpgsqlDbType.Uuid, ticket.ApiKeyId);
        command.Parameters.AddWithValue("by", Common.BoundedText.Fit(createdBy, 255)!);
        command.Parameters.AddWithValue("expires", ticket.ExpiresAt);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>An unexpired ticket by id; null when there is none in this tenant.</summary>
    public async Task<UploadRow?> FindUploadAsync(NpgsqlTransaction transaction, Guid uploadId, DateTimeOffset now)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            SELECT u.model_id, u.version_id, v.version, u.object_key, u.size_bytes, u.expires_at, u.api_key_id
              FROM artifact_uploads u JOIN model_versions v ON v.tenant_id = u.tenant_id AND v.id = u.version_id
             WHERE u.tenant_id = @tenant AND u.id = @id AND u.expires_at > @now
            """);
        command.Parameters.AddWithValue("id", uploadId);
        command.Parameters.AddWithValue("now", now);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new UploadRow(reader.GetGuid(0), reader.GetGuid(1),
                new ArtifactUploadTicket(uploadId, reader.GetString(2), reader.GetString(3), reader.GetInt64(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetGuid(6)))
            : null;
    }

    public async Task DeleteUploadAsync(NpgsqlTransaction transaction, Guid uploadId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, "DELETE FROM artifact_uploads WHERE tenant_id = @tenant AND id = @id");
        command.Parameters.AddWithValue("id", uploadId);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Removes the tickets of one version (a new ticket replaces them; their objects are left to fail or to the sweep).</summary>
    public async Task DeleteUploadsOfVersionAsync(NpgsqlTransaction transaction, Guid versionId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "DELETE FROM artifact_uploads WHERE tenant_id = @tenant AND version_id = @version");
        command.Parameters.AddWithValue("version", versionId);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Bytes reserved by the tenant's unexpired tickets (counted against artifact_bytes with what is stored). Takes the
    /// tenant's reservation lock for the rest of the transaction, so two models of one tenant never reserve the same bytes.
    /// </summary>
    public async Task<long> ReservedBytesAsync(NpgsqlTransaction transaction, DateTimeOffset now)
    {
        await using (var @lock = TenantDatabase.TenantCommand(transaction,
            "SELECT pg_advisory_xact_lock(hashtextextended('artifact-reservations:' || @tenant::text, 0))"))
        {
            await @lock.ExecuteNonQueryAsync();
        }

        await using var command = TenantDatabase.TenantCommand(transaction,
            "SELECT coalesce(sum(size_bytes), 0)::bigint FROM artifact_uploads WHERE tenant_id = @tenant AND expires_at > @now");
        command.Parameters.AddWithValue("now", now);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Deletes the tenant's expired upload tickets (their reserved bytes are free again).</summary>
    public async Task DeleteExpiredUploadsAsync(NpgsqlTransaction transaction)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "DELETE FROM artifact_uploads WHERE tenant_id = @tenant AND expires_at <= now()");
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Which of <paramref name="keys"/> a stored artifact or an unexpired upload ticket of the tenant references.</summary>
    public async Task<HashSet<string>> ReferencedObjectKeysAsync(NpgsqlTransaction transaction, string[] keys)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            SELECT storage_path FROM model_artifacts WHERE tenant_id = @tenant AND storage_path = ANY(@keys)
            UNION ALL
            SELECT object_key FROM artifact_uploads WHERE tenant_id = @tenant AND object_key = ANY(@keys)
            """);
        command.Parameters.AddWithValue("keys", keys);
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            referenced.Add(reader.GetString(0));
        }

        return referenced;
    }
}
