using Microsoft.AspNetCore.Http.HttpResults;
using PhantomMl.Grains.Maintenance;

namespace PhantomMl.Silo.Apis;

/// <summary>Partition maintenance: see what the last pass did, or run one now.</summary>
public static class MaintenanceApi
{
    /// <summary>Maps <c>/api/v1/maintenance</c>.</summary>
    public static IEndpointRouteBuilder MapMaintenanceApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/v1/maintenance").WithTags("Maintenance").RequireClusterOperator();
        api.MapGet("/partitions", GetLastReportAsync).WithSummary("The last partition maintenance pass since the job's activation");
        api.MapPost("/partitions", RunAsync).WithSummary("Run a partition maintenance pass now");
        return routes;
    }

    private static async Task<Results<Ok<PartitionMaintenanceReport>, NoContent>> GetLastReportAsync(IGrainFactory grains) =>
        await Grain(grains).GetLastReportAsync() is { } report ? TypedResults.Ok(report) : TypedResults.NoContent();

    private static async Task<Ok<PartitionMaintenanceReport>> RunAsync(IGrainFactory grains) =>
        TypedResults.Ok(await Grain(grains).RunAsync());

    private static IPartitionMaintenanceGrain Grain(IGrainFactory grains) =>
        grains.GetGrain<IPartitionMaintenanceGrain>(IPartitionMaintenanceGrain.ClusterKey);
}
