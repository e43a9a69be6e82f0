using Microsoft.Extensions.Logging;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Models;

namespace PhantomMl.Grains.Maintenance;

/// <summary>
/// Deletes artifact objects that no model_artifacts row and no unexpired upload ticket references. Keys name their tenant, so each tenant's
/// objects are checked inside that tenant's row-level-security scope, in batches; nothing needs to see across
/// tenants. An object is only deleted once it is older than the grace period, because an upload's object is
/// written before its row commits.
/// </summary>
public sealed partial class ArtifactSweeper(TenantDatabase database, ModelSql modelSql, IArtifactStore artifacts, TimeProvider time,
    ILogger<ArtifactSweeper> logger)
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

    private async Task<long> SweepAsync(List<StoredObject> batch, DateTimeOffset writtenBefore, List<string> deleted,
        CancellationToken cancellationToken)
    {
        long tooRecent = 0;
        foreach (var tenant in batch.GroupBy(stored => ArtifactKeys.TenantOf(stored.Key)!.Value))
        {
            var keys = tenant.Select(stored => stored.Key).ToArray();
            var referenced = await database.InTenantAsync(tenant.Key, async (_, transaction) =>
            {
                // An upload in progress (an unexpired ticket) references its object too; expired tickets are forgotten here.
                await modelSql.DeleteExpiredUploadsAsync(transaction);
                return await modelSql.ReferencedObjectKeysAsync(transaction, keys);
            }, cancellationToken);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted orphaned artifact object {ObjectKey} (last written {LastModified:o})")]
    private partial void LogDeleted(string objectKey, DateTimeOffset lastModified);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete orphaned artifact object {ObjectKey}")]
    private partial void LogNotDeleted(Exception exception, string objectKey);
}
