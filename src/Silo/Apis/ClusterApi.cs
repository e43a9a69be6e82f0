using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using PhantomMl.Grains;
using PhantomMl.Grains.Diagnostics;

namespace PhantomMl.Silo.Apis;

/// <summary>Cluster membership and probe grains: what an operator checks first.</summary>
public static partial class ClusterApi
{
    /// <summary>Maps <c>/api/v1/cluster</c>.</summary>
    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/v1/cluster").WithTags("Cluster").RequireClusterOperator();
        api.MapGet("/silos", GetSilosAsync).WithSummary("Active silos of the cluster, from the membership table");
        api.MapGet("/probes/{key}", ReadProbeAsync).WithSummary("Read a probe grain: its persisted count and hosting silo");
        api.MapPost("/probes/{key}", TouchProbeAsync).WithSummary("Increment and persist a probe grain's count");
        api.MapGet("/memory", GetMemoryAsync)
            .WithSummary("This silo's managed heap after a full, blocking collection, and the cluster's activations " +
                "(capacity planning; pauses this silo)");
        return routes;
    }

    private static async Task<Ok<IReadOnlyList<SiloInfo>>> GetSilosAsync(IGrainFactory grains) =>
        TypedResults.Ok(await grains.Cluster().GetSilosAsync());

    /// <summary>A silo's memory: managed heap bytes after a full collection, the process's working set, the cluster's activations.</summary>
    public sealed record SiloMemory(long ManagedHeapBytes, long WorkingSetBytes, int ClusterActivations);

    private static async Task<Ok<SiloMemory>> GetMemoryAsync(IGrainFactory grains)
    {
        // The operator check of the group has passed: the management grain is called by this silo, not by a client.
        var activations = await grains.GetGrain<IManagementGrain>(0).GetTotalActivationCount();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return TypedResults.Ok(new SiloMemory(GC.GetTotalMemory(forceFullCollection: true), Environment.WorkingSet, activations));
    }

    private static async Task<Results<Ok<ProbeReading>, ProblemHttpResult>> ReadProbeAsync(string key, IGrainFactory grains) =>
        IsValidKey(key) ? TypedResults.Ok(await grains.Probe(key).ReadAsync()) : InvalidKey(key);

    private static async Task<Results<Ok<ProbeReading>, ProblemHttpResult>> TouchProbeAsync(string key, IGrainFactory grains) =>
        IsValidKey(key) ? TypedResults.Ok(await grains.Probe(key).TouchAsync()) : InvalidKey(key);

    private static bool IsValidKey(string key) => ProbeKey().IsMatch(key);

    private static ProblemHttpResult InvalidKey(string key) => TypedResults.Problem(
        statusCode: StatusCodes.Status400BadRequest,
        title: "Invalid probe key",
        detail: $"A probe key is 1-100 characters of letters, digits, '.', '_' or '-'; got {key.Length} characters.",
        type: ProblemTypes.InvalidKey);

    [GeneratedRegex("^[A-Za-z0-9._-]{1,100}$")]
    private static partial Regex ProbeKey();
}
