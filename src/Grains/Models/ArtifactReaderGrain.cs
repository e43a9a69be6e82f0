using Orleans.Concurrency;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Models;

/// <summary>
/// See <see cref="IArtifactReaderGrain"/>. The stored object is found through the model grain (which authorizes the
/// caller again and resolves the label or alias), never from a path the caller names.
/// </summary>
[StatelessWorker]
public sealed class ArtifactReaderGrain(AccessGuard guard, IArtifactStore artifacts) : Grain, IArtifactReaderGrain
{
    /// <inheritdoc />
    public async Task<byte[]> ReadAsync(string tenantKey, string model, string versionOrAlias, long offset, int count)
    {
        await guard.AuthorizeAsync(tenantKey, Permissions.ModelsRead, new AuditEvent("data_access", "artifact", model ?? "", "read-artifact"));
        if (offset < 0 || count is <= 0 or > IArtifactReaderGrain.MaxRangeBytes)
        {
            throw PhantomException.Invalid($"Read 1 to {IArtifactReaderGrain.MaxRangeBytes} bytes from a non-negative offset.", "count");
        }

        var artifact = await GrainFactory.Model(tenantKey, ModelLifecycle.Name(model)).GetArtifactAsync(versionOrAlias);
        if (offset >= artifact.SizeBytes)
        {
            return [];
        }

        try
        {
            await using var content = await artifacts.OpenReadAsync(artifact.StoragePath, offset, count, CancellationToken.None);
            var buffer = new byte[Math.Min(count, artifact.SizeBytes - offset)];
            var filled = await content.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false);
            return filled == buffer.Length ? buffer : buffer[..filled];
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw PhantomException.NotFound("artifact", artifact.Version);
        }
    }
}
