using Microsoft.AspNetCore.Http.HttpResults;
using PhantomMl.Grains.Lineage;

namespace PhantomMl.Silo.Apis;

/// <summary>
/// A tenant's data lineage as the platform records it: datasets, training jobs, model versions, batch outputs, aliases
/// and models, walked upstream (where something came from) or downstream (what came from it). Needs models:read.
/// </summary>
public static class LineageApi
{
    /// <summary>Maps <c>/api/v1/tenants/{tenantKey}/lineage</c>.</summary>
    public static IEndpointRouteBuilder MapLineageApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGroup("/api/v1/tenants/{tenantKey}/lineage").WithTags("Lineage")
            .MapGet("/", TraceAsync)
            .WithSummary("Walk the lineage from resourceType (dataset, training_job, model, model_version, alias, batch_output) and "
                + "resourceId; direction=upstream|downstream, depth 1-20, limit 1-2000");
        return routes;
    }

    private static async Task<Ok<LineageTrace>> TraceAsync(string tenantKey, IGrainFactory grains, string? resourceType, string? resourceId,
        string? direction, int? depth, int? limit) =>
        TypedResults.Ok(await grains.Lineage(tenantKey).TraceAsync(
            new LineageQuery(resourceType!, resourceId!, direction ?? "upstream", depth ?? 5, limit ?? 500)));
}
