
using Orleans.Concurrency;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Models;

/// <summary>
/// One model of one tenant (key: <c>tenantKey/modelName</c>). Its single activation serialises every change
/// to the model and its versions, aliases and lineage: no lost update and no lock service. Changes that
/// carry an expected ETag fail with 412 when it is stale.
/// </summary>
[ClientCallable]
[Alias("phantomml.models.IModelGrain")]
public interface IModelGrain : IGrainWithStringKey
{
    /// <summary>Registers the model; counts against the models quota.</summary>
    [Alias("CreateAsync")] Task<ModelView> CreateAsync(CreateModel command);

    /// <summary>Reads the model.</summary>
    [Alias("GetAsync")] Task<ModelView> GetAsync();

    /// <summary>
    /// Changes the model if <paramref name="expectedETag"/> is current; null (HTTP <c>If-Match: *</c>) applies the
    /// change to whatever is current, still one change at a time, so nothing another writer changed is lost. The call
    /// interleaves only to authorize and queue: the changes waiting together are applied in arrival order and committed
    /// in one transaction by <see cref="CommitRowChangesAsync"/> (group commit), each caller answered as if alone.
    /// </summary>
    [AlwaysInterleave, Alias("UpdateAsync")] Task<ModelView> UpdateAsync(UpdateModel command, long? expectedETag);

    /// <summary>Moves the model to another status along the documented lifecycle (illegal = 409); group committed like updates.</summary>
    [AlwaysInterleave, Alias("ChangeStatusAsync")] Task<ModelView> ChangeStatusAsync(string status, long expectedETag);

    /// <summary>
    /// Commits the queued row changes: the activation's call to itself, ordinary (not interleaving), so a batch never
    /// overlaps another call.
    /// </summary>
    [SiloOnly, Alias("CommitRowChangesAsync")] Task CommitRowChangesAsync();

    /// <summary>
    /// Gives the model a new name (MLflow's rename): its versions, aliases, artifacts, serving and the lineage of the model,
    /// its versions and aliases move with it, and this key answers 404 from then on. 409 while unfinished work names the
    /// model (training that registers into it or reads a dataset from it, batch inferences: they would look the old name
    /// up later) and when the new name is taken. An upload in progress is refused at its end (404) and sent again.
    /// </summary>
    [Alias("RenameAsync")] Task<ModelView> RenameAsync(string newName, long expectedETag);

    /// <summary>Deletes the model with its versions, aliases and lineage; releases its quota.</summary>
    [Alias("DeleteAsync")] Task DeleteAsync(long expectedETag);

    /// <summary>Registers a version; the performance delta against the parent is computed here.</summary>
    [Alias("RegisterVersionAsync")] Task<ModelVersionView> RegisterVersionAsync(RegisterVersion command);

    /// <summary>
    /// Deletes a version that is not active, with its aliases, and its artifact object once the rows are gone;
    /// releases its quota.
    /// </summary>
    [Alias("DeleteVersionAsync")] Task<ModelView> DeleteVersionAsync(string versionOrAlias, long expectedETag);

    /// <summary>The versions, oldest first.</summary>
    [Alias("ListVersionsAsync")] Task<IReadOnlyList<ModelVersionView>> ListVersionsAsync();

    /// <summary>One version, by version label or alias.</summary>
    [Alias("GetVersionAsync")] Task<ModelVersionView> GetVersionAsync(string versionOrAlias);

    /// <summary>
    /// Changes a version's changelog (when not null) and tags: <paramref name="setTags"/> set or replace, then
    /// <paramref name="deleteTags"/> are removed (404 for one not set). A version's scores and label never change.
    /// </summary>
    [Alias("UpdateVersionAsync")] Task<ModelVersionView> UpdateVersionAsync(string versionOrAlias, string? changelog,
        IReadOnlyDictionary<string, string>? setTags, IReadOnlyList<string>? deleteTags);

    /// <summary>
    /// Retires a version (MLflow's Archived stage), or brings it back with <paramref name="archived"/> false. The active
    /// version cannot be archived (409: activate another first); activating an archived version brings it back. An
    /// archived version stays readable and keeps its aliases.
    /// </summary>
    [Alias("ArchiveVersionAsync")] Task<ModelView> ArchiveVersionAsync(string versionOrAlias, bool archived, long expectedETag);

    /// <summary>Makes one version (label or alias) the only active one; an archived version is brought back.</summary>
    [Alias("ActivateVersionAsync")] Task<ModelView> ActivateVersionAsync(string versionOrAlias, long expectedETag);

    /// <summary>Points an alias at a version (label or alias), atomically.</summary>
    [Alias("SetAliasAsync")] Task<ModelView> SetAliasAsync(string alias, string versionOrAlias, long expectedETag);

    /// <summary>
    /// Sets an alias's traffic rules (a challenger with its percentage, a shadow); both null and 0 remove them.
    /// Moving the alias to another version removes them too: a split is between two named versions.
    /// </summary>
    [Alias("SetAliasTrafficAsync")] Task<ModelView> SetAliasTrafficAsync(string alias, AliasTraffic traffic, long expectedETag);

    /// <summary>What a version label, an alias or "active" is served by now (see <see cref="ServingRoute"/>).</summary>
    [SiloOnly, Alias("GetServingRouteAsync")] Task<ServingRoute> GetServingRouteAsync(string versionOrAlias);

    /// <summary>Removes an alias.</summary>
    [Alias("RemoveAliasAsync")] Task<ModelView> RemoveAliasAsync(string alias, long expectedETag);

    /// <summary>Records that this model derives from another model of the same tenant.</summary>
    [Alias("AddLineageAsync")] Task<LineageEdge> AddLineageAsync(string parentModel, string lineageType, string? transformationMetadata);

    /// <summary>Ancestors and descendants, up to <paramref name="depth"/> edges away.</summary>
    [Alias("GetLineageAsync")] Task<LineageGraph> GetLineageAsync(int depth);

    /// <summary>
    /// Admits an artifact upload of <paramref name="sizeBytes"/> for a version without one: checks the model file size
    /// limit and reserves the bytes against the artifact_bytes quota, and keeps the ticket (object key, size, owner)
    /// on the server until the upload completes, is abandoned or expires.
    /// </summary>
    [Alias("PrepareArtifactUploadAsync")] Task<ArtifactUploadTicket> PrepareArtifactUploadAsync(string versionOrAlias, long sizeBytes);

    /// <summary>
    /// Records the upload of a ticket this model issued, with the size and SHA-256 a silo measured while the bytes
    /// streamed, checking the client's checksum (when given); any refusal deletes the object and the ticket.
    /// </summary>
    [SiloOnly, Alias("CompleteArtifactUploadAsync")]
    Task<ArtifactView> CompleteArtifactUploadAsync(Guid uploadId, long measuredBytes, string measuredSha256, string? expectedSha256);

    /// <summary>Gives up an upload of a ticket this model issued: its object and ticket are deleted, its reservation released.</summary>
    [SiloOnly, Alias("AbandonArtifactUploadAsync")] Task AbandonArtifactUploadAsync(Guid uploadId);

    /// <summary>The ticket of an upload in progress, read by the silo streaming it; 404 when it is gone or expired.</summary>
    [SiloOnly, Alias("GetArtifactUploadAsync")] Task<ArtifactUploadTicket> GetArtifactUploadAsync(Guid uploadId);

    /// <summary>A version's artifact record.</summary>
    [Alias("GetArtifactAsync")] Task<ArtifactView> GetArtifactAsync(string versionOrAlias);

    /// <summary>Re-reads the stored artifact and compares its SHA-256 and size with the record.</summary>
    [Alias("VerifyArtifactAsync")] Task<ArtifactVerification> VerifyArtifactAsync(string versionOrAlias);

    /// <summary>A presigned download URL valid for <paramref name="validFor"/>, where the store offers one.</summary>
    [Alias("GetArtifactUrlAsync")] Task<Uri?> GetArtifactUrlAsync(string versionOrAlias, TimeSpan validFor);
}

/// <summary>
/// The same model grain, for silos only (not client-callable): re-reads its row after a change made outside it, as an
/// erasure rewriting <c>created_by</c>.
/// </summary>
[Alias("phantomml.models.IModelRefresh")]
public interface IModelRefresh : IGrainWithStringKey
{
    /// <summary>Drops the shared cache entry and re-reads the row if this activation holds it.</summary>
    [Alias("RefreshAsync")] Task RefreshAsync();
}

/// <summary>Searches a tenant's models (key: tenant key). Stateless: reads scale out.</summary>
[ClientCallable]
[Alias("phantomml.models.IModelCatalogGrain")]
public interface IModelCatalogGrain : IGrainWithStringKey
{
    /// <summary>Models matching the filters, with keyset pagination.</summary>
    [Alias("SearchAsync")] Task<ModelPage> SearchAsync(ModelSearch search);

    /// <summary>A model's view from the shared cache, or from its grain on a miss: the hot read path.</summary>
    [Alias("GetModelAsync")] Task<ModelView> GetModelAsync(string name);
}
