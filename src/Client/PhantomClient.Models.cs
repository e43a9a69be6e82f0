using System.Security.Cryptography;
using PhantomMl.Grains.Models;

namespace PhantomMl.Client;

/// <summary>The model registry: the same operations as /api/v1/tenants/{tenantKey}/models.</summary>
public sealed partial class PhantomClient
{
    /// <summary>Registers a model.</summary>
    public Task<ModelView> CreateModelAsync(string tenantKey, string name, CreateModel command, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).CreateAsync(command), cancellationToken);

    /// <summary>Reads a model (its ETag included).</summary>
    public Task<ModelView> GetModelAsync(string tenantKey, string name, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).GetAsync(), cancellationToken);

    /// <summary>Changes a model if <paramref name="expectedETag"/> is current (null: whatever is current, one change at a time).</summary>
    public Task<ModelView> UpdateModelAsync(string tenantKey, string name, UpdateModel command, long? expectedETag,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).UpdateAsync(command, expectedETag), cancellationToken);

    /// <summary>Moves a model along its lifecycle.</summary>
    public Task<ModelView> ChangeModelStatusAsync(string tenantKey, string name, string status, long expectedETag,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).ChangeStatusAsync(status, expectedETag), cancellationToken);

    /// <summary>Deletes a model.</summary>
    public Task DeleteModelAsync(string tenantKey, string name, long expectedETag, CancellationToken cancellationToken = default) =>
        CallAsync(async grains =>
        {
            await Model(grains, tenantKey, name).DeleteAsync(expectedETag);
            return true;
        }, cancellationToken);

    /// <summary>Registers a version.</summary>
    public Task<ModelVersionView> RegisterModelVersionAsync(string tenantKey, string name, RegisterVersion command,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).RegisterVersionAsync(command), cancellationToken);

    /// <summary>Deletes a version that is not active, with its artifact.</summary>
    public Task<ModelView> DeleteModelVersionAsync(string tenantKey, string name, string versionOrAlias, long expectedETag,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).DeleteVersionAsync(versionOrAlias, expectedETag), cancellationToken);

    /// <summary>Lists a model's versions.</summary>
    public Task<IReadOnlyList<ModelVersionView>> ListModelVersionsAsync(string tenantKey, string name,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).ListVersionsAsync(), cancellationToken);

    /// <summary>Reads a version by label or alias.</summary>
    public Task<ModelVersionView> GetModelVersionAsync(string tenantKey, string name, string versionOrAlias,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).GetVersionAsync(versionOrAlias), cancellationToken);

    /// <summary>Makes a version the only active one.</summary>
    public Task<ModelView> ActivateModelVersionAsync(string tenantKey, string name, string versionOrAlias, long expectedETag,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).ActivateVersionAsync(versionOrAlias, expectedETag), cancellationToken);

    /// <summary>Renames a model; its versions, aliases, artifacts and lineage follow (409 while unfinished work names it).</summary>
    public Task<ModelView> RenameModelAsync(string tenantKey, string name, string newName, long expectedETag,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).RenameAsync(newName, expectedETag), cancellationToken);

    /// <summary>Archives a version that is not active (<paramref name="archived"/> true) or brings it back (false).</summary>
    public Task<ModelView> ArchiveModelVersionAsync(string tenantKey, string name, string versionOrAlias, bool archived, long expectedETag,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).ArchiveVersionAsync(versionOrAlias, archived, expectedETag), cancellationToken);

    /// <summary>Points an alias at a version.</summary>
    public Task<ModelView> SetModelAliasAsync(string tenantKey, string name, string alias, string versionOrAlias, long expectedETag,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).SetAliasAsync(alias, versionOrAlias, expectedETag), cancellationToken);

    /// <summary>
    /// Splits an alias's traffic: <paramref name="challengerPercent"/> of its requests to <paramref name="challenger"/>,
    /// every request mirrored to <paramref name="shadow"/>; nulls and 0 end the split.
    /// </summary>
    public Task<ModelView> SetModelAliasTrafficAsync(string tenantKey, string name, string alias, string? challenger, int challengerPercent,
        string? shadow, long expectedETag, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).SetAliasTrafficAsync(alias, new AliasTraffic(challenger, challengerPercent, shadow),
            expectedETag), cancellationToken);

    /// <summary>Records lineage from a parent model.</summary>
    public Task<LineageEdge> AddModelLineageAsync(string tenantKey, string name, string parentModel, string lineageType,
        string? transformationMetadata = null, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).AddLineageAsync(parentModel, lineageType, transformationMetadata), cancellationToken);

    /// <summary>A model's lineage graph.</summary>
    public Task<LineageGraph> GetModelLineageAsync(string tenantKey, string name, int depth = 10, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).GetLineageAsync(depth), cancellationToken);

    /// <summary>Searches a tenant's models.</summary>
    public Task<ModelPage> SearchModelsAsync(string tenantKey, ModelSearch search, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.ModelCatalog(tenantKey).SearchAsync(search), cancellationToken);

    /// <summary>A version's artifact record (size, SHA-256, where it is stored).</summary>
    public Task<ArtifactView> GetModelArtifactAsync(string tenantKey, string name, string versionOrAlias,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).GetArtifactAsync(versionOrAlias), cancellationToken);

    /// <summary>Re-reads a stored artifact and checks it against its recorded SHA-256.</summary>
    public Task<ArtifactVerification> VerifyModelArtifactAsync(string tenantKey, string name, string versionOrAlias,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).VerifyArtifactAsync(versionOrAlias), cancellationToken);

    /// <summary>A presigned URL to download an artifact directly from S3 (null for the filesystem store).</summary>
    public Task<Uri?> GetModelArtifactUrlAsync(string tenantKey, string name, string versionOrAlias, TimeSpan validFor,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).GetArtifactUrlAsync(versionOrAlias, validFor), cancellationToken);

    /// <summary>
    /// Uploads a version's artifact from <paramref name="content"/>, streamed in chunks through the cluster into the
    /// artifact store (memory stays bounded on both sides). <paramref name="sizeBytes"/> defaults to what is left of a
    /// seekable stream. When <paramref name="expectedSha256"/> is given, a mismatch stores nothing and answers 400.
    /// </summary>
    public async Task<ArtifactView> UploadModelArtifactAsync(string tenantKey, string name, string versionOrAlias, Stream content,
        long? sizeBytes = null, string? expectedSha256 = null, CancellationToken cancellationToken = default)
    {
        var size = sizeBytes ?? (content.CanSeek
            ? content.Length - content.Position
            : throw new ArgumentException("Give sizeBytes for a stream that cannot seek.", nameof(sizeBytes)));
        var ticket = await CallAsync(grains => Model(grains, tenantKey, name).PrepareArtifactUploadAsync(versionOrAlias, size), cancellationToken);
        var upload = Grains.ArtifactUpload(tenantKey, name, ticket.UploadId);
        try
        {
            await CallAsync(async _ =>
            {
                await upload.BeginAsync();
                return true;
            }, cancellationToken);

            // Reading the next chunk overlaps with sending the previous one.
            long offset = 0;
            var next = ReadChunkAsync(content, size, cancellationToken);
            while (offset < size)
            {
                var chunk = await next;
                var chunkOffset = offset;
                offset += chunk.Length;
                next = offset < size ? ReadChunkAsync(content, size - offset, cancellationToken) : Task.FromResult(Array.Empty<byte>());
                await CallAsync(_ => upload.WriteAsync(chunkOffset, chunk), cancellationToken);
            }

            return await CallAsync(_ => upload.CompleteAsync(expectedSha256), cancellationToken);
        }
        catch
        {
            await AbortQuietlyAsync(upload);
            throw;
        }
    }

    /// <summary>
    /// Downloads a version's artifact into <paramref name="destination"/> in chunks, checking the bytes against the
    /// recorded SHA-256 at the end (<see cref="InvalidDataException"/> on a mismatch: the stored object was damaged).
    /// </summary>
    public async Task<ArtifactView> DownloadModelArtifactAsync(string tenantKey, string name, string versionOrAlias, Stream destination,
        CancellationToken cancellationToken = default)
    {
        var artifact = await GetModelArtifactAsync(tenantKey, name, versionOrAlias, cancellationToken);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long offset = 0;
        var next = ReadArtifactChunkAsync(tenantKey, name, artifact, offset, cancellationToken);
        while (offset < artifact.SizeBytes)
        {
            var chunk = await next;
            if (chunk.Length == 0)
            {
                throw new InvalidDataException($"The stored artifact ended after {offset} of its {artifact.SizeBytes} bytes.");
            }

            offset += chunk.Length;
            next = offset < artifact.SizeBytes ? ReadArtifactChunkAsync(tenantKey, name, artifact, offset,
                cancellationToken) : Task.FromResult(Array.Empty<byte>());
            hash.AppendData(chunk);
            await destination.WriteAsync(chunk, cancellationToken);
        }

        var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        return actual == artifact.Sha256
            ? artifact
            : throw new InvalidDataException($"The downloaded artifact's SHA-256 is {actual}, not the recorded {artifact.Sha256}: the stored " +
                $"object is damaged.");
    }

    /// <summary>Reads bytes [offset, offset + count) of a version's artifact (fewer at its end; count at most 8 MiB).</summary>
    public async Task<byte[]> ReadModelArtifactRangeAsync(string tenantKey, string name, string versionOrAlias, long offset, int count,
        CancellationToken cancellationToken = default)
    {
        var artifact = await GetModelArtifactAsync(tenantKey, name, versionOrAlias, cancellationToken);
        return offset >= artifact.SizeBytes
            ? []
            : await CallAsync(grains => grains.ArtifactReader().ReadAsync(tenantKey, name, artifact.Version, offset, count), cancellationToken);
    }

    /// <summary>The chunk size of SDK uploads and downloads.</summary>
    private const int ArtifactChunkBytes = 4 << 20;

    private static async Task<byte[]> ReadChunkAsync(Stream content, long remaining, CancellationToken cancellationToken)
    {
        var chunk = new byte[(int)Math.Min(ArtifactChunkBytes, remaining)];
        var read = await content.ReadAtLeastAsync(chunk, chunk.Length, throwOnEndOfStream: false, cancellationToken);
        return read == chunk.Length ? chunk : throw new EndOfStreamException($"The content ended {remaining - read} bytes before the size given.");
    }

    // By version label, not alias: a download never switches versions halfway when an alias moves.
    private Task<byte[]> ReadArtifactChunkAsync(string tenantKey, string name, ArtifactView artifact, long offset,
        CancellationToken cancellationToken) =>
        CallAsync(grains => grains.ArtifactReader().ReadAsync(tenantKey, name, artifact.Version, offset,
            (int)Math.Min(ArtifactChunkBytes, artifact.SizeBytes - offset)), cancellationToken);

    private static async Task AbortQuietlyAsync(IArtifactUploadGrain upload)
    {
        try
        {
            await upload.AbortAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The upload was never begun, or is gone already; an idle upload deletes its object itself.
        }
    }

    private static IModelGrain Model(IGrainFactory grains, string tenantKey, string name) => grains.Model(tenantKey, name);
}
