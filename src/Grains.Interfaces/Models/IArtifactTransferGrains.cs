namespace PhantomMl.Grains.Models;

/// <summary>
/// One artifact upload from the SDK (key: the object key of the ticket <see cref="IModelGrain.PrepareArtifactUploadAsync"/>
/// issued). Chunks arrive in order and stream straight into the artifact store while being hashed, so memory
/// stays bounded whatever the size; completing records the artifact through the model grain. Only the key that
/// began an upload can write to it. A client that disappears leaves nothing: the object is deleted when the
/// activation goes idle or its silo stops.
/// </summary>
[Alias("phantomml.models.IArtifactUploadGrain")]
public interface IArtifactUploadGrain : IGrainWithStringKey
{
    /// <summary>Largest chunk accepted by one <see cref="WriteAsync"/>: 8 MiB.</summary>
    const int MaxChunkBytes = 8 << 20;

    /// <summary>Starts streaming <paramref name="sizeBytes"/> bytes into the ticket's object for the model <c>tenantKey/name</c>.</summary>
    [Alias("BeginAsync")] Task BeginAsync(string tenantKey, string modelName, ArtifactUploadTicket ticket, long sizeBytes);

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
[Alias("phantomml.models.IArtifactReaderGrain")]
public interface IArtifactReaderGrain : IGrainWithIntegerKey
{
    /// <summary>Largest range returned by one <see cref="ReadAsync"/>: 8 MiB.</summary>
    const int MaxRangeBytes = 8 << 20;

    /// <summary>
    /// Bytes [offset, offset + count) of the artifact at <paramref name="storagePath"/> (as <see cref="ArtifactView.StoragePath"/>
    /// reported it), fewer at its end. Objects of other tenants answer 404.
    /// </summary>
    [Alias("ReadAsync")] Task<byte[]> ReadAsync(string storagePath, long offset, int count);
}
