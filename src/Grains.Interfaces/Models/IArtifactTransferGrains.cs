
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Models;

/// <summary>
/// One artifact upload from the SDK (key: <see cref="GrainKeys.ArtifactUpload"/>, with the upload id of the ticket
/// <see cref="IModelGrain.PrepareArtifactUploadAsync"/> issued). Everything about the upload (its object key, size and
/// owner) is read from the ticket the server keeps, never from the client. Chunks arrive in order and stream straight
/// into the artifact store while being hashed, so memory stays bounded whatever the size; completing records the
/// artifact through the model grain with the size and SHA-256 measured here. Only the API key that asked for the ticket
/// can write to it. A client that disappears leaves nothing: the object and the ticket are deleted when the activation
/// goes idle or its silo stops (and the ticket expires otherwise).
/// </summary>
[ClientCallable]
[Alias("phantomml.models.IArtifactUploadGrain")]
public interface IArtifactUploadGrain : IGrainWithStringKey
{
    /// <summary>Largest chunk accepted by one <see cref="WriteAsync"/>: 8 MiB.</summary>
    const int MaxChunkBytes = 8 << 20;

    /// <summary>Starts streaming into the ticket's object; the size is the ticket's.</summary>
    [Alias("BeginAsync")] Task BeginAsync();

    /// <summary>
    /// Appends <paramref name="chunk"/> at <paramref name="offset"/>. A chunk that was already written (a retried call) is
    /// acknowledged without writing it twice; a gap answers 409 with the offset expected next.
    /// </summary>
    [Alias("WriteAsync")] Task<long> WriteAsync(long offset, byte[] chunk);

    /// <summary>Finishes the object and records the artifact, checking <paramref name="expectedSha256"/> when given.</summary>
    [Alias("CompleteAsync")] Task<ArtifactView> CompleteAsync(string? expectedSha256);

    /// <summary>Abandons the upload and deletes whatever was written.</summary>
    [Alias("AbortAsync")] Task AbortAsync();
}

/// <summary>
/// Reads ranges of stored artifacts for the SDK. A stateless worker: downloads scale out across silos and never
/// hold up the model grain, which keeps serialising the model's changes meanwhile.
/// </summary>
[ClientCallable]
[Alias("phantomml.models.IArtifactReaderGrain")]
public interface IArtifactReaderGrain : IGrainWithIntegerKey
{
    /// <summary>Largest range returned by one <see cref="ReadAsync"/>: 8 MiB.</summary>
    const int MaxRangeBytes = 8 << 20;

    /// <summary>
    /// Bytes [offset, offset + count) of a version's artifact (label or alias), fewer at its end. The stored object is
    /// found by the server from the model's records, never named by the caller.
    /// </summary>
    [Alias("ReadAsync")] Task<byte[]> ReadAsync(string tenantKey, string model, string versionOrAlias, long offset, int count);
}
