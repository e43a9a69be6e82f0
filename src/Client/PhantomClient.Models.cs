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
    public Task<ModelView> UpdateModelAsync(string tenantKey, string name, UpdateModel command, long? expectedETag, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).UpdateAsync(command, expectedETag), cancellationToken);

    /// <summary>Moves a model along its lifecycle.</summary>
    public Task<ModelView> ChangeModelStatusAsync(string tenantKey, string name, string status, long expectedETag, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).ChangeStatusAsync(status, expectedETag), cancellationToken);

    /// <summary>Deletes a model.</summary>
    public Task DeleteModelAsync(string tenantKey, string name, long expectedETag, CancellationToken cancellationToken = default) =>
        CallAsync(async grains =>
        {
            await Model(grains, tenantKey, name).DeleteAsync(expectedETag);
            return true;
        }, cancellationToken);

    /// <summary>Registers a version.</summary>
    public Task<ModelVersionView> RegisterModelVersionAsync(string tenantKey, string name, RegisterVersion command, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).RegisterVersionAsync(command), cancellationToken);

    /// <summary>Deletes a version that is not active, with its artifact.</summary>
    public Task<ModelView> DeleteModelVersionAsync(string tenantKey, string name, string versionOrAlias, long expectedETag, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).DeleteVersionAsync(versionOrAlias, expectedETag), cancellationToken);

    /// <summary>Lists a model's versions.</summary>
    public Task<IReadOnlyList<ModelVersionView>> ListModelVersionsAsync(string tenantKey, string name, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).ListVersionsAsync(), cancellationToken);

    /// <summary>Reads a version by label or alias.</summary>
    public Task<ModelVersionView> GetModelVersionAsync(string tenantKey, string name, string versionOrAlias, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).GetVersionAsync(versionOrAlias), cancellationToken);

    /// <summary>Makes a version the only active one.</summary>
    public Task<ModelView> ActivateModelVersionAsync(string tenantKey, string name, string versionOrAlias, long expectedETag, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).ActivateVersionAsync(versionOrAlias, expectedETag), cancellationToken);

    /// <summary>Points an alias at a version.</summary>
    public Task<ModelView> SetModelAliasAsync(string tenantKey, string name, string alias, string versionOrAlias, long expectedETag, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).SetAliasAsync(alias, versionOrAlias, expectedETag), cancellationToken);

    /// <summary>Records lineage from a parent model.</summary>
    public Task<LineageEdge> AddModelLineageAsync(string tenantKey, string name, string parentModel, string lineageType, string? transformationMetadata = null,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).AddLineageAsync(parentModel, lineageType, transformationMetadata), cancellationToken);

    /// <summary>A model's lineage graph.</summary>
    public Task<LineageGraph> GetModelLineageAsync(string tenantKey, string name, int depth = 10, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).GetLineageAsync(depth), cancellationToken);

    /// <summary>Searches a tenant's models.</summary>
    public Task<ModelPage> SearchModelsAsync(string tenantKey, ModelSearch search, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.GetGrain<IModelCatalogGrain>(tenantKey).SearchAsync(search), cancellationToken);

    /// <summary>A version's artifact record (size, SHA-256, where it is stored).</summary>
    public Task<ArtifactView> GetModelArtifactAsync(string tenantKey, string name, string versionOrAlias, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).GetArtifactAsync(versionOrAlias), cancellationToken);

    /// <summary>Re-reads a stored artifact and checks it against its recorded SHA-256.</summary>
    public Task<ArtifactVerification> VerifyModelArtifactAsync(string tenantKey, string name, string versionOrAlias, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).VerifyArtifactAsync(versionOrAlias), cancellationToken);

    /// <summary>
    /// A presigned URL to download an artifact directly from S3 (null for the filesystem store). Uploads go
    /// through the HTTP API (<c>PUT .../artifact</c>), which streams and hashes them.
    /// </summary>
    public Task<Uri?> GetModelArtifactUrlAsync(string tenantKey, string name, string versionOrAlias, TimeSpan validFor, CancellationToken cancellationToken = default) =>
        CallAsync(grains => Model(grains, tenantKey, name).GetArtifactUrlAsync(versionOrAlias, validFor), cancellationToken);

    private static IModelGrain Model(IGrainFactory grains, string tenantKey, string name) => grains.GetGrain<IModelGrain>($"{tenantKey}/{name}");
}
