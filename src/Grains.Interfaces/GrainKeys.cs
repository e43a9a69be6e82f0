namespace PhantomMl.Grains;

/// <summary>
/// The one place where the composite keys of the platform's grains are formatted and read back. A key names its tenant
/// first (<c>{tenantKey}/...</c>), so a grain knows whose resource it serves from its key alone. Formatting refuses a
/// blank part with 404 (no such resource can exist; Orleans itself refuses blank keys with an exception of its own), and
/// parsing never trusts a key: a part that is missing or malformed comes back empty, and the grain answers 404 or 400.
/// Each area's <c>XxxGrainFactory</c> turns these keys into grain references (<c>grains.Model(tenantKey, name)</c>).
/// </summary>
public static class GrainKeys
{
    /// <summary>The key of every stateless worker and cluster-wide grain that serves all tenants alike.</summary>
    public const long Shared = 0;

    private const char Separator = '/';

    /// <summary>A tenant-wide grain (the tenant itself, its model catalog, training queue, audit trail): the tenant key.</summary>
    public static string Tenant(string tenantKey) => Join(tenantKey);

    /// <summary>One model: <c>{tenantKey}/{modelName}</c>.</summary>
    public static string Model(string tenantKey, string modelName) => Join(tenantKey, modelName);

    /// <summary>
    /// Another named resource of a tenant (an agent, a workflow): <c>{tenantKey}/{name}</c>, read back with <see cref="ParseModel"/>.
    /// </summary>
    public static string Named(string tenantKey, string name) => Join(tenantKey, name);

    /// <summary>One training job or batch inference job: <c>{tenantKey}/{id}</c>.</summary>
    public static string TenantAndId(string tenantKey, Guid id) => Join(tenantKey, id.ToString());

    /// <summary>One SDK artifact upload: <c>{tenantKey}/{modelName}/{uploadId}</c>.</summary>
    public static string ArtifactUpload(string tenantKey, string modelName, Guid uploadId) => Join(tenantKey, modelName, uploadId.ToString("N"));

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
