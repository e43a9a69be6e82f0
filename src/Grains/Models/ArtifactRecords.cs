using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Models;

/// <summary>The SQL of model_artifacts; inside a tenant's unit of work.</summary>
public static class ArtifactRecords
{
    private const string Columns = "v.version, a.artifact_size_bytes, a.artifact_checksum, a.storage_provider, a.storage_path, a.compression_type, a.encryption_key_id, a.created_at";

    public static async Task<ArtifactView?> FindAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid versionId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            $"SELECT {Columns} FROM model_artifacts a JOIN model_versions v ON v.tenant_id = a.tenant_id AND v.id = a.model_version_id WHERE a.tenant_id = @tenant AND a.model_version_id = @version");
        command.Parameters.AddWithValue("version", versionId);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new ArtifactView(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6), reader.GetFieldValue<DateTimeOffset>(7))
            : null;
    }

    public static async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ModelRecord model, Guid versionId,
        long size, string sha256, IArtifactStore store, string objectKey)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            INSERT INTO model_artifacts (model_version_id, tenant_id, model_id, artifact_size_bytes, artifact_checksum, storage_provider, storage_path, compression_type, encryption_key_id)
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
    public static async Task<List<string>> KeysOfModelAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid modelId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, "SELECT storage_path FROM model_artifacts WHERE tenant_id = @tenant AND model_id = @model");
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
    public static async Task<long> BytesOfModelAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid modelId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, "SELECT coalesce(sum(artifact_size_bytes), 0)::bigint FROM model_artifacts WHERE tenant_id = @tenant AND model_id = @model");
        command.Parameters.AddWithValue("model", modelId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
