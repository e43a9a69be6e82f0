using Microsoft.AspNetCore.Http.HttpResults;
using PhantomMl.Grains;
using PhantomMl.Grains.Agents;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Maintenance;
using PhantomMl.Grains.Training;

namespace PhantomMl.Silo.Apis;

/// <summary>Cluster maintenance: partition passes (see the last, or run one now) and the orphaned-artifact sweep.</summary>
public static class MaintenanceApi
{
    /// <summary>Maps <c>/api/v1/maintenance</c>.</summary>
    public static IEndpointRouteBuilder MapMaintenanceApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/v1/maintenance").WithTags("Maintenance").RequireClusterOperator();
        api.MapGet("/partitions", GetLastReportAsync).WithSummary("The last partition maintenance pass since the job's activation");
        api.MapPost("/partitions", RunAsync).WithSummary("Run a partition maintenance pass now");
        api.MapPost("/training-watchdog", RunTrainingWatchdogAsync)
            .WithSummary("Recover training jobs whose runner went silent, and start built-in jobs whose start was lost, now");
        api.MapPost("/agent-sweep", SweepAgentsAsync)
            .WithSummary("Resume agent executions and workflow runs that are due (retries, deadlines, lost attempts) now");
        api.MapPost("/audit-sweep", SweepAuditAsync)
            .WithSummary("Seal every tenant's waiting audit rows into its hash chain, and sign the digests that are due, now");
        api.MapPost("/artifact-sweep", SweepArtifactsAsync)
            .WithSummary("Delete artifact objects no version references, older than olderThanSeconds (default: the configured grace)");
        return routes;
    }

    /// <summary>The jobs a watchdog pass recovered or started.</summary>
    public sealed record WatchdogPass(IReadOnlyList<Guid> Recovered);

    /// <summary>How many executions and runs an agent sweep resumed.</summary>
    public sealed record AgentSweepPass(int Resumed);

    /// <summary>How many audit rows an audit sweep sealed.</summary>
    public sealed record AuditSweepPass(int Sealed);

    private const long MaxGraceSeconds = 366L * 24 * 3600;

    private static async Task<Results<Ok<PartitionMaintenanceReport>, NoContent>> GetLastReportAsync(IGrainFactory grains) =>
        await grains.PartitionMaintenance().GetLastReportAsync() is { } report ? TypedResults.Ok(report) : TypedResults.NoContent();

    private static async Task<Ok<PartitionMaintenanceReport>> RunAsync(IGrainFactory grains) =>
        TypedResults.Ok(await grains.PartitionMaintenance().RunAsync());

    private static async Task<Ok<WatchdogPass>> RunTrainingWatchdogAsync(IGrainFactory grains) =>
        TypedResults.Ok(new WatchdogPass(await grains.TrainingWatchdog().RunAsync()));

    private static async Task<Ok<AgentSweepPass>> SweepAgentsAsync(IGrainFactory grains) =>
        TypedResults.Ok(new AgentSweepPass(await grains.AgentSweep().RunAsync()));

    private static async Task<Ok<AuditSweepPass>> SweepAuditAsync(IGrainFactory grains) =>
        TypedResults.Ok(new AuditSweepPass(await grains.AuditSweep().RunAsync()));

    private static async Task<Ok<ArtifactSweepReport>> SweepArtifactsAsync(long? olderThanSeconds, IGrainFactory grains)
    {
        if (olderThanSeconds is < 0 or > MaxGraceSeconds)
        {
            throw PhantomException.Invalid($"olderThanSeconds is 0 to {MaxGraceSeconds}.", "olderThanSeconds");
        }

        var grace = olderThanSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        return TypedResults.Ok(await grains.ArtifactSweep().RunAsync(grace));
    }
}
