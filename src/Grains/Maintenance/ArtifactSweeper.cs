using Microsoft.Extensions.Logging;
using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Models;

namespace PhantomMl.Grains.Maintenance;

/// <summary>
/// Deletes artifact objects that no model_artifacts row and no unexpired upload ticket references. Keys name their tenant, so each tenant's
/// objects are checked inside that tenant's row-level-security scope, in batches; nothing needs to see across
/// tenants. An object is only deleted once it is older than the grace period, because an upload's object is
/// written before its row commits.
/// </summary>
public sealed partial class ArtifactSweeper(TenantDatabase database, IArtifactStore artifacts, TimeProvider time, ILogger<ArtifactSweeper> logger)
{
    private const int BatchSize = 500;

    /// <summary>Runs one sweep.</summary>
    public async Task<ArtifactSweepReport> RunAsync(TimeSpan grace, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var deleted = new List<string>();
        long examined = 0, tooRecent = 0;
        var batch = new List<StoredObject>(BatchSize);
        await foreach (var stored in artifacts.ListAsync(cancellationToken))
        {
            examined++;
            batch.Add(stored);
            if (batch.Count == BatchSize)
            {
                tooRecent += await SweepAsync(batch, now - grace, deleted, cancellationToken);
                batch.Clear();
            }
        }

        tooRecent += await SweepAsync(batch, now - grace, deleted, cancellationToken);
        return new ArtifactSweepReport(now, examined, deleted, tooRecent);
    }

    private async Task<long> SweepAsync(List<StoredObject> batch, DateTimeOffset writtenBefore, List<string> deleted, CancellationToken cancellationToken)
    {
        long tooRecent = 0;
        foreach (var tenant in batch.GroupBy(stored => ArtifactKeys.TenantOf(stored.Key)!.Value))
        {
            var keys = tenant.Select(stored => stored.Key).ToArray();
            var referenced = await database.InTenantAsync(tenant.Key, (connection, transaction) => ReferencedAsync(connection, transaction, keys), cancellationToken);
            foreach (var orphan in tenant.Where(stored => !referenced.Contains(stored.Key)))
            {
                if (orphan.LastModified >= writtenBefore)
                {
                    tooRecent++;
                    continue;
                }

                try
                {
                    await artifacts.DeleteAsync(orphan.Key, cancellationToken);
                    deleted.Add(orphan.Key);
                    LogDeleted(orphan.Key, orphan.LastModified);
                }
                catch (Exception e) when (e is IOException or HttpRequestException or Minio.Exceptions.MinioException)
                {
                    LogNotDeleted(e, orphan.Key); // the next sweep tries again
                }
            }
        }

        return tooRecent;
    }

    private static async Task<HashSet<string>> ReferencedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string[] keys)
    {
        // An upload in progress (an unexpired ticket) references its object too; expired tickets are forgotten here.
        await using (var expired = TenantDatabase.TenantCommand(transaction, "DELETE FROM artifact_uploads WHERE tenant_id = @tenant AND expires_at <= now()"))
        {
            await expired.ExecuteNonQueryAsync();
        }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted orphaned artifact object {ObjectKey} (last written {LastModified:o})")]
    private partial void LogDeleted(string objectKey, DateTimeOffset lastModified);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete orphaned artifact object {ObjectKey}")]
    private partial void LogNotDeleted(Exception exception, string objectKey);
}
