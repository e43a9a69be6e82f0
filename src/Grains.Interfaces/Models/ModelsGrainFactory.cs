namespace PhantomMl.Grains.Models;

/// <summary>References to the Models area's grains, keyed by <see cref="GrainKeys"/>.</summary>
public static class ModelsGrainFactory
{
    /// <summary>One model with its versions, aliases, lineage and artifacts.</summary>
    public static IModelGrain Model(this IGrainFactory grains, string tenantKey, string modelName) =>
        grains.GetGrain<IModelGrain>(GrainKeys.Model(tenantKey, modelName));

    /// <summary>The model grain's refresh, for silos after a change made outside it.</summary>
    public static IModelRefresh ModelRefresh(this IGrainFactory grains, string tenantKey, string modelName) =>
        grains.GetGrain<IModelRefresh>(GrainKeys.Model(tenantKey, modelName));

    /// <summary>The search and cached reads of a tenant's models.</summary>
    public static IModelCatalogGrain ModelCatalog(this IGrainFactory grains, string tenantKey) =>
        grains.GetGrain<IModelCatalogGrain>(GrainKeys.Tenant(tenantKey));

    /// <summary>One SDK artifact upload, under the ticket the model issued.</summary>
    public static IArtifactUploadGrain ArtifactUpload(this IGrainFactory grains, string tenantKey, string modelName, Guid uploadId) =>
        grains.GetGrain<IArtifactUploadGrain>(GrainKeys.ArtifactUpload(tenantKey, modelName, uploadId));

    /// <summary>Ranged reads of stored artifacts (a stateless worker).</summary>
    public static IArtifactReaderGrain ArtifactReader(this IGrainFactory grains) => grains.GetGrain<IArtifactReaderGrain>(GrainKeys.Shared);
}
