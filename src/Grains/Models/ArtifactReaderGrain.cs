using Orleans.Concurrency;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Models;

/// <summary>
/// See <see cref="IArtifactReaderGrain"/>. The object key names its tenant (keys are generated, never user input),
/// so the caller's tenant is checked against the key itself; another tenant's key answers 404 like a missing one.
/// </summary>
[StatelessWorker]
public sealed class ArtifactReaderGrain(AccessGuard guard, IArtifactStore artifacts) : Grain, IArtifactReaderGrain
{
    /// <inheritdoc />
    public async Task<byte[]> ReadAsync(string storagePath, long offset, int count)
    {
        var audit = new AuditEvent("data_access", "artifact", storagePath.Length <= 255 ? storagePath : storagePath[..255], "read-artifact");
        var tenantId = ArtifactKeys.TenantOf(storagePath);
        await guard.AuthorizeAsync(tenantId, tenantId?.ToString("N") ?? "unknown", Permissions.ModelsRead, audit);
        if (offset < 0 || count is <= 0 or > IArtifactReaderGrain.MaxRangeBytes)
        {
            throw PhantomException.Invalid($"Read 1 to {IArtifactReaderGrain.MaxRangeBytes} bytes from a non-negative offset.", "count");
        }

        try
        {
            await using var content = await artifacts.OpenReadAsync(storagePath, offset, count, CancellationToken.None);
            var buffer = new byte[count];
            var filled = await content.ReadAtLeastAsync(buffer, count, throwOnEndOfStream: false);
            return filled == count ? buffer : buffer[..filled];
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw PhantomException.NotFound("artifact", storagePath);
        }
    }
}
