using PhantomMl.Grains.Inference;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Training;

namespace PhantomMl.Grains;

/// <summary>
/// The one place where grain keys of the platform's resources are built and read back. A key names its tenant first
/// (<c>{tenantKey}/...</c>), so a grain knows whose resource it serves from its key alone. Building refuses a blank part
/// with 404 (no such resource can exist; Orleans itself refuses blank keys with an exception of its own), and parsing
/// never trusts a key: a part that is missing or malformed comes back empty, and the grain answers 404 or 400 for it.
/// </summary>
public static class GrainKeys
{
    private const char Separator = '/';

    /// <summary>The grain of one tenant: its tenant key.</summary>
    public static Tenants.ITenantGrain Tenant(this IGrainFactory grains, string tenantKey) =>
        grains.GetGrain<Tenants.ITenantGrain>(Join(tenantKey));

    /// <summary>The search and cached reads of a tenant's models: the tenant key.</summary>
    public static IModelCatalogGrain ModelCatalog(this IGrainFactory grains, string tenantKey) =>
        grains.GetGrain<IModelCatalogGrain>(Join(tenantKey));

    /// <summary>A tenant's training queue: the tenant key.</summary>
    public static ITrainingSchedulerGrain TrainingScheduler(this IGrainFactory grains, string tenantKey) =>
        grains.GetGrain<ITrainingSchedulerGrain>(Join(tenantKey));

    /// <summary>A tenant's audit trail: the tenant key (<c>platform</c> for the platform's own).</summary>
    public static Audit.IAuditLogGrain AuditLog(this IGrainFactory grains, string tenantKey) =>
        grains.GetGrain<Audit.IAuditLogGrain>(Join(tenantKey));

    /// <summary>The grain of one model: <c>{tenantKey}/{modelName}</c>.</summary>
    public static IModelGrain Model(this IGrainFactory grains, string tenantKey, string modelName) =>
        grains.GetGrain<IModelGrain>(Join(tenantKey, modelName));

    /// <summary>The grain of one training job: <c>{tenantKey}/{jobId}</c>.</summary>
    public static ITrainingJobGrain TrainingJob(this IGrainFactory grains, string tenantKey, Guid jobId) =>
        grains.GetGrain<ITrainingJobGrain>(Join(tenantKey, jobId.ToString()));

    /// <summary>The grain of one batch inference job: <c>{tenantKey}/{batchId}</c>.</summary>
    public static IBatchInferenceGrain Batch(this IGrainFactory grains, string tenantKey, Guid batchId) =>
        grains.GetGrain<IBatchInferenceGrain>(Join(tenantKey, batchId.ToString()));

    /// <summary>The grain of one SDK artifact upload: <c>{tenantKey}/{modelName}/{uploadId}</c>.</summary>
    public static IArtifactUploadGrain ArtifactUpload(this IGrainFactory grains, string tenantKey, string modelName, Guid uploadId) =>
        grains.GetGrain<IArtifactUploadGrain>(Join(tenantKey, modelName, uploadId.ToString("N")));

    /// <summary>Reads <c>{tenantKey}/{name}</c>: the tenant key, and the rest (which may itself hold no further separator).</summary>
    public static (string TenantKey, string Name) ParseModel(string key)
    {
        var slash = key.IndexOf(Separator, StringComparison.Ordinal);
        return slash < 0 ? (key, "") : (key[..slash], key[(slash + 1)..]);
    }

    /// <summary>Reads <c>{tenantKey}/{id}</c> (a training job or a batch); the id is empty when it is not a UUID.</summary>
    public static (string TenantKey, Guid Id) ParseTenantAndId(string key)
    {
        var (tenantKey, rest) = ParseModel(key);
        return (tenantKey, Guid.TryParse(rest, out var id) ? id : Guid.Empty);
    }

    /// <summary>Reads <c>{tenantKey}/{modelName}/{uploadId}</c>; the upload id is empty when it is not a UUID.</summary>
    public static (string TenantKey, string ModelName, Guid UploadId) ParseArtifactUpload(string key)
    {
        var (tenantKey, rest) = ParseModel(key);
        var slash = rest.LastIndexOf(Separator);
        return slash < 0
            ? (tenantKey, rest, Guid.Empty)
            : (tenantKey, rest[..slash], Guid.TryParseExact(rest[(slash + 1)..], "N", out var id) ? id : Guid.Empty);
    }

    private static string Join(params string?[] parts) => parts.All(part => !string.IsNullOrWhiteSpace(part))
        ? string.Join(Separator, parts)
        : throw PhantomException.NotFound("resource", string.Join(Separator, parts.Select(part => part ?? "")));
}
