using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using PhantomMl.Grains;
using PhantomMl.Grains.Models;

namespace PhantomMl.Silo.Apis;

/// <summary>
/// The model registry under <c>/api/v1/tenants/{tenantKey}/models</c>. Every answer carrying a model has its
/// ETag; every change to an existing model needs <c>If-Match</c> with the current ETag (stale: 412 with the
/// current one; missing: 428).
/// </summary>
public static class ModelsApi
{
    /// <summary>Maps the registry.</summary>
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder routes)
    {
        var models = routes.MapGroup("/api/v1/tenants/{tenantKey}/models").WithTags("Models");
        models.MapGet("/", SearchAsync)
            .WithSummary("Search models: namePrefix, modelType, status, algorithm, tag (key or key=value), createdFrom/To; sort name|created; " +
                "keyset pages");
        models.MapPost("/", CreateAsync).WithSummary("Register a model (counts against the models quota)");
        models.MapGet("/{name}", GetAsync).WithSummary("Read a model and its ETag (served from the Redis cache when it holds the model)");
        models.MapPatch("/{name}", UpdateAsync)
            .WithSummary("Change a model (If-Match: an ETag, or * for whatever is current); mergeTags sets only the tags it names");
        models.MapPost("/{name}/status", ChangeStatusAsync).WithSummary("Move a model along its lifecycle (If-Match; illegal moves are 409)");
        models.MapDelete("/{name}", DeleteAsync).WithSummary("Delete a model with its versions, aliases and lineage (If-Match)");
        models.MapPost("/{name}/rename", RenameAsync)
            .WithSummary("Rename a model with its versions, aliases, artifacts and lineage (If-Match; 409 while unfinished work names it)");

        models.MapGet("/{name}/versions", ListVersionsAsync).WithSummary("List versions, oldest first");
        models.MapPost("/{name}/versions", RegisterVersionAsync)
            .WithSummary("Register a version; performanceDelta is computed against parentVersion (counts against the model_versions quota)");
        models.MapGet("/{name}/versions/{version}", GetVersionAsync).WithSummary("Read a version by label or alias");
        models.MapDelete("/{name}/versions/{version}", DeleteVersionAsync)
            .WithSummary("Delete a version that is not active, with its aliases and artifact object (If-Match)");
        models.MapPost("/{name}/versions/{version}/activate",
            ActivateVersionAsync).WithSummary("Make a version (label or alias) the only active one (If-Match)");
        models.MapPost("/{name}/versions/{version}/archive", ArchiveVersionAsync)
            .WithSummary("Retire a version that is not active; it stays readable (If-Match)");
        models.MapDelete("/{name}/versions/{version}/archive", RestoreVersionAsync).WithSummary("Bring an archived version back (If-Match)");
        models.MapPut("/{name}/aliases/{alias}", SetAliasAsync).WithSummary("Point an alias (e.g. champion) at a version, atomically (If-Match)");
        models.MapPut("/{name}/aliases/{alias}/traffic", SetAliasTrafficAsync)
            .WithSummary("Split an alias's traffic ({\"challenger\": \"v2\", \"challengerPercent\": 10, \"shadow\": \"v3\"}); nulls and 0 end it " +
                "(If-Match)");
        models.MapDelete("/{name}/aliases/{alias}", RemoveAliasAsync).WithSummary("Remove an alias (If-Match)");

        models.MapPost("/{name}/lineage", AddLineageAsync).WithSummary("Record that this model derives from another (derived, retrained, ensemble)");
        models.MapGet("/{name}/lineage", GetLineageAsync).WithSummary("Ancestors and descendants up to depth edges away");
        return routes;
    }

    /// <summary>Body of POST .../models: metadata is any JSON object.</summary>
    public sealed record CreateModelRequest(string Name, string ModelType, string Algorithm, int? FeatureCount = null, long? TrainingSamples = null,
        IReadOnlyDictionary<string, string>? Tags = null, JsonElement? Metadata = null);

    /// <summary>Body of PATCH .../models/{name}.</summary>
    public sealed record ModelChangeRequest(string? ModelType = null, string? Algorithm = null, int? FeatureCount = null,
        long? TrainingSamples = null,
        IReadOnlyDictionary<string, string>? Tags = null, JsonElement? Metadata = null, IReadOnlyDictionary<string, string>? MergeTags = null)
    {
        internal UpdateModel ToUpdate() => new(ModelType, Algorithm, FeatureCount, TrainingSamples, Tags, JsonBody.RawOrNull(Metadata), MergeTags);
    }

    /// <summary>Body of POST .../rename.</summary>
    public sealed record RenameRequest(string NewName);

    /// <summary>Body of POST .../status.</summary>
    public sealed record StatusRequest(string Status);

    /// <summary>Body of PUT .../aliases/{alias}.</summary>
    public sealed record AliasRequest(string Version);

    /// <summary>Body of POST .../lineage.</summary>
    public sealed record LineageRequest(string ParentModel, string LineageType, JsonElement? TransformationMetadata = null);

    private static async Task<Ok<ModelPage>> SearchAsync(string tenantKey, IGrainFactory grains, string? namePrefix, string? modelType,
        string? status, string? algorithm, string? tag, DateTimeOffset? createdFrom, DateTimeOffset? createdTo, string? sort, int? limit,
        string? cursor) =>
        TypedResults.Ok(await grains.ModelCatalog(tenantKey).SearchAsync(
            new ModelSearch(namePrefix, modelType, status, algorithm, tag, createdFrom, createdTo, sort ?? "name", limit ?? 50, cursor)));

    private static async Task<Created<ModelView>> CreateAsync(string tenantKey, CreateModelRequest request, HttpContext http, IGrainFactory grains)
    {
        var model = await grains.Model(tenantKey, ModelLifecycle.Name(request.Name)).CreateAsync(new CreateModel(request.ModelType,
            request.Algorithm, request.FeatureCount, request.TrainingSamples, request.Tags, JsonBody.RawOrNull(request.Metadata)));
        SetETag(http, model);
        return TypedResults.Created($"/api/v1/tenants/{tenantKey}/models/{Uri.EscapeDataString(model.Name)}", model);
    }

    private static async Task<Ok<ModelView>> GetAsync(string tenantKey, string name, HttpContext http, IGrainFactory grains) =>
        WithETag(http, await grains.ModelCatalog(tenantKey).GetModelAsync(name));

    private static async Task<Ok<ModelView>> UpdateAsync(string tenantKey, string name, ModelChangeRequest request, HttpContext http,
        IGrainFactory grains) =>
        WithETag(http, await grains.Model(tenantKey, name).UpdateAsync(request.ToUpdate(), IfMatchOrAny(http)));

    private static async Task<Ok<ModelView>> ChangeStatusAsync(string tenantKey, string name, StatusRequest request, HttpContext http,
        IGrainFactory grains) =>
        WithETag(http, await grains.Model(tenantKey, name).ChangeStatusAsync(request.Status, IfMatch(http)));

    private static async Task<NoContent> DeleteAsync(string tenantKey, string name, HttpContext http, IGrainFactory grains)
    {
        await grains.Model(tenantKey, name).DeleteAsync(IfMatch(http));
        return TypedResults.NoContent();
    }

    private static async Task<Ok<ModelView>> RenameAsync(string tenantKey, string name, RenameRequest request, HttpContext http,
        IGrainFactory grains)
    {
        var renamed = await grains.Model(tenantKey, name).RenameAsync(request.NewName, IfMatch(http));
        http.Response.Headers.Location = $"/api/v1/tenants/{tenantKey}/models/{Uri.EscapeDataString(renamed.Name)}";
        return WithETag(http, renamed);
    }

    private static async Task<Ok<IReadOnlyList<ModelVersionView>>> ListVersionsAsync(string tenantKey, string name, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Model(tenantKey, name).ListVersionsAsync());

    private static async Task<Created<ModelVersionView>> RegisterVersionAsync(string tenantKey, string name, RegisterVersion request,
        IGrainFactory grains)
    {
        var version = await grains.Model(tenantKey, name).RegisterVersionAsync(request);
        return TypedResults.Created($"/api/v1/tenants/{tenantKey}/models/{name}/versions/{Uri.EscapeDataString(version.Version)}", version);
    }

    private static async Task<Ok<ModelVersionView>> GetVersionAsync(string tenantKey, string name, string version, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Model(tenantKey, name).GetVersionAsync(version));

    private static async Task<Ok<ModelView>> DeleteVersionAsync(string tenantKey, string name, string version, HttpContext http,
        IGrainFactory grains) =>
        WithETag(http, await grains.Model(tenantKey, name).DeleteVersionAsync(version, IfMatch(http)));

    private static async Task<Ok<ModelView>> ActivateVersionAsync(string tenantKey, string name, string version, HttpContext http,
        IGrainFactory grains) =>
        WithETag(http, await grains.Model(tenantKey, name).ActivateVersionAsync(version, IfMatch(http)));

    private static async Task<Ok<ModelView>> ArchiveVersionAsync(string tenantKey, string name, string version, HttpContext http,
        IGrainFactory grains) =>
        WithETag(http, await grains.Model(tenantKey, name).ArchiveVersionAsync(version, archived: true, IfMatch(http)));

    private static async Task<Ok<ModelView>> RestoreVersionAsync(string tenantKey, string name, string version, HttpContext http,
        IGrainFactory grains) =>
        WithETag(http, await grains.Model(tenantKey, name).ArchiveVersionAsync(version, archived: false, IfMatch(http)));

    private static async Task<Ok<ModelView>> SetAliasAsync(string tenantKey, string name, string alias, AliasRequest request, HttpContext http,
        IGrainFactory grains) =>
        WithETag(http, await grains.Model(tenantKey, name).SetAliasAsync(alias, request.Version, IfMatch(http)));

    private static async Task<Ok<ModelView>> SetAliasTrafficAsync(string tenantKey, string name, string alias, AliasTraffic request,
        HttpContext http, IGrainFactory grains) =>
        WithETag(http, await grains.Model(tenantKey, name).SetAliasTrafficAsync(alias, request, IfMatch(http)));

    private static async Task<Ok<ModelView>> RemoveAliasAsync(string tenantKey, string name, string alias, HttpContext http, IGrainFactory grains) =>
        WithETag(http, await grains.Model(tenantKey, name).RemoveAliasAsync(alias, IfMatch(http)));

    private static async Task<Created<LineageEdge>> AddLineageAsync(string tenantKey, string name, LineageRequest request, IGrainFactory grains) =>
        TypedResults.Created($"/api/v1/tenants/{tenantKey}/models/{name}/lineage",
            await grains.Model(tenantKey, name).AddLineageAsync(request.ParentModel, request.LineageType,
                JsonBody.RawOrNull(request.TransformationMetadata)));

    private static async Task<Ok<LineageGraph>> GetLineageAsync(string tenantKey, string name, int? depth, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Model(tenantKey, name).GetLineageAsync(depth ?? 10));

    private static Ok<ModelView> WithETag(HttpContext http, ModelView model)
    {
        SetETag(http, model);
        return TypedResults.Ok(model);
    }

    private static void SetETag(HttpContext http, ModelView model) => http.Response.Headers.ETag = $"\"{model.ETag}\"";

    /// <summary>If-Match: <c>*</c> (null: whatever is current) or an ETag.</summary>
    private static long? IfMatchOrAny(HttpContext http) => http.Request.Headers.IfMatch.ToString().Trim() == "*" ? null : IfMatch(http);

    /// <summary>The version an update expects, from If-Match: <c>"17"</c>.</summary>
    private static long IfMatch(HttpContext http)
    {
        var header = http.Request.Headers.IfMatch.ToString();
        if (header.Length == 0)
        {
            throw new PhantomException(StatusCodes.Status428PreconditionRequired, ProblemTypes.PreconditionRequired,
                "If-Match required", "Send the model's current ETag in If-Match; read it with GET first.");
        }

        var value = header.Trim().TrimStart('W', '/').Trim('"');
        return long.TryParse(value, out var version) ? version
            : throw PhantomException.Invalid("If-Match must be an ETag this API returned, e.g. \"3\".", "If-Match");
    }
}
