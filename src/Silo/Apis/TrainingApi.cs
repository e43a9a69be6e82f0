using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using PhantomMl.Grains;
using PhantomMl.Grains.Training;

namespace PhantomMl.Silo.Apis;

/// <summary>
/// Training jobs under <c>/api/v1/tenants/{tenantKey}/training-jobs</c>: create and follow jobs, report a runner's
/// status and progress, log metrics (batches of up to 100,000 points) and read them back downsampled from ClickHouse.
/// </summary>
public static class TrainingApi
{
    /// <summary>Maps the training API.</summary>
    public static IEndpointRouteBuilder MapTrainingApi(this IEndpointRouteBuilder routes)
    {
        var jobs = routes.MapGroup("/api/v1/tenants/{tenantKey}/training-jobs").WithTags("Training");
        jobs.MapPost("/", CreateAsync)
            .WithSummary("Create a training job (pending; scheduled as the tenant's concurrent_training_jobs quota allows, by priority then age)");
        jobs.MapGet("/", ListAsync).WithSummary("The tenant's jobs, newest first");
        jobs.MapGet("/{jobId:guid}", GetAsync).WithSummary("Read a job");
        jobs.MapGet("/{jobId:guid}/experiments", ListExperimentsAsync)
            .WithSummary("The trials of the job's hyperparameter search: parameters, final metrics, completed | pruned | failed");
        jobs.MapPost("/{jobId:guid}/status", ReportStatusAsync)
            .WithSummary("A runner reports running (from scheduled), completed (metricsSummary) or failed (errorMessage)");
        jobs.MapPost("/{jobId:guid}/params", LogParamsAsync)
            .WithSummary("Log parameters into the job's hyperparameters (a parameter keeps its first value: another value is 409)");
        jobs.MapPost("/{jobId:guid}/progress", ReportProgressAsync).WithSummary("A running job's progress, 0 to 1");
        jobs.MapPost("/{jobId:guid}/cancel", CancelAsync).WithSummary("Cancel a job that has not finished");
        jobs.MapPost("/{jobId:guid}/retry", RetryAsync).WithSummary("Queue a failed or cancelled job again as a new attempt");

        jobs.MapPost("/{jobId:guid}/metrics", LogMetricsAsync)
            .WithSummary("Log metric points (1 to 100,000): name, value, step, optional timestamp; NaN/Infinity only with allowNonFinite. " +
                         "batchId (or Idempotency-Key) makes a retry store nothing twice");
        jobs.MapGet("/{jobId:guid}/metrics/latest", LatestMetricsAsync).WithSummary("The latest point of every metric");
        jobs.MapGet("/{jobId:guid}/metric-names", MetricNamesAsync).WithSummary("The names of the job's metrics (fast: read from the hourly rollup)");
        jobs.MapGet("/{jobId:guid}/metrics/{**metric}", MetricHistoryAsync)
            .WithSummary("A metric's history in at most maxPoints step buckets (min, max, avg each, so spikes survive), between fromStep and " +
                "toStep when given (zoom); names may hold '/' (trial-3/accuracy)");
        jobs.MapGet("/{jobId:guid}/timeline/{**metric}", TimelineAsync)
            .WithSummary("A metric over wall-clock time (from, to, maxPoints); buckets of an hour or more are read from the hourly rollup");
        jobs.MapGet("/compare", CompareAsync).WithSummary("One metric of several jobs (jobIds comma-separated), each downsampled");
        return routes;
    }

    /// <summary>Body of POST .../training-jobs.</summary>
    public sealed record CreateJobRequest(string JobName, string ModelName, string DatasetUri, JsonElement? Config = null,
        JsonElement? Hyperparameters = null, JsonElement? ResourceRequirements = null, int Priority = 0)
    {
        internal CreateTrainingJob ToCommand() => new(JobName, ModelName, DatasetUri, JsonBody.RawOrNull(Config), JsonBody.RawOrNull(Hyperparameters),
            JsonBody.RawOrNull(ResourceRequirements), Priority);
    }

    /// <summary>Body of POST .../status.</summary>
    public sealed record StatusRequest(string Status, string? ErrorMessage = null, JsonElement? MetricsSummary = null);

    /// <summary>Body of POST .../params.</summary>
    public sealed record ParamsRequest(IReadOnlyDictionary<string, string> Params);

    /// <summary>Body of POST .../progress.</summary>
    public sealed record ProgressRequest(double Progress);

    /// <summary>Body of POST .../cancel.</summary>
    public sealed record CancelRequest(string? Reason = null);

    /// <summary>One metric point; the timestamp defaults to now.</summary>
    public sealed record MetricPointRequest(
        string Name,
        [property: JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)] double Value,
        long Step,
        DateTimeOffset? Timestamp = null);

    /// <summary>Body of POST .../metrics.</summary>
    public sealed record MetricsRequest(IReadOnlyList<MetricPointRequest> Points, string? BatchId = null, bool AllowNonFinite = false)
    {
        internal MetricBatch ToBatch(string? idempotencyKey)
        {
            if (Points is null)
            {
                throw PhantomException.Invalid("points is required.", "points");
            }

            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var batch = new MetricBatchBuilder(Points.Count);
            for (var i = 0; i < Points.Count; i++)
            {
                var point = Points[i] ?? throw PhantomException.Invalid($"Point {i} is null.", $"points[{i}]");
                batch.Add(point.Name, point.Value, point.Step, point.Timestamp?.ToUnixTimeMilliseconds() ?? now);
            }

            return batch.Build(BatchId ?? idempotencyKey ?? Guid.CreateVersion7().ToString(), AllowNonFinite);
        }
    }

    /// <summary>What a metric log stored.</summary>
    public sealed record MetricsStored(int Stored);

    private static async Task<Created<TrainingJobView>> CreateAsync(string tenantKey, CreateJobRequest request, IGrainFactory grains)
    {
        var job = await grains.TrainingJob(tenantKey, Guid.CreateVersion7()).CreateAsync(request.ToCommand());
        return TypedResults.Created($"/api/v1/tenants/{tenantKey}/training-jobs/{job.Id}", job);
    }

    private static async Task<Ok<IReadOnlyList<TrainingJobView>>> ListAsync(string tenantKey, string? status, int? limit, IGrainFactory grains) =>
        TypedResults.Ok(await grains.TrainingScheduler(tenantKey).ListAsync(status, limit ?? 100));

    private static async Task<Ok<TrainingJobView>> GetAsync(string tenantKey, Guid jobId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.TrainingJob(tenantKey, jobId).GetAsync());

    private static async Task<Ok<IReadOnlyList<ExperimentView>>> ListExperimentsAsync(string tenantKey, Guid jobId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.TrainingJob(tenantKey, jobId).ListExperimentsAsync());

    private static async Task<Ok<TrainingJobView>> ReportStatusAsync(string tenantKey, Guid jobId, StatusRequest request, IGrainFactory grains) =>
        TypedResults.Ok(await grains.TrainingJob(tenantKey, jobId)
            .ReportStatusAsync(request.Status, request.ErrorMessage, JsonBody.RawOrNull(request.MetricsSummary)));

    private static async Task<Ok<TrainingJobView>> LogParamsAsync(string tenantKey, Guid jobId, ParamsRequest request, IGrainFactory grains) =>
        TypedResults.Ok(await grains.TrainingJob(tenantKey, jobId).LogParamsAsync(request.Params));

    private static async Task<Ok<TrainingJobView>> ReportProgressAsync(string tenantKey, Guid jobId, ProgressRequest request, IGrainFactory grains) =>
        TypedResults.Ok(await grains.TrainingJob(tenantKey, jobId).ReportProgressAsync(request.Progress));

    private static async Task<Ok<TrainingJobView>> CancelAsync(string tenantKey, Guid jobId, CancelRequest? request, IGrainFactory grains) =>
        TypedResults.Ok(await grains.TrainingJob(tenantKey, jobId).CancelAsync(request?.Reason));

    private static async Task<Ok<TrainingJobView>> RetryAsync(string tenantKey, Guid jobId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.TrainingJob(tenantKey, jobId).RetryAsync());

    private static async Task<Ok<MetricsStored>> LogMetricsAsync(string tenantKey, Guid jobId, MetricsRequest request, HttpContext http,
        IGrainFactory grains)
    {
        var idempotencyKey = http.Request.Headers["Idempotency-Key"].ToString() is { Length: > 0 } key ? key : null;
        return TypedResults.Ok(new MetricsStored(await grains.TrainingMetrics().LogAsync(tenantKey, jobId, request.ToBatch(idempotencyKey))));
    }

    private static async Task<Ok<IReadOnlyList<LatestMetric>>> LatestMetricsAsync(string tenantKey, Guid jobId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.TrainingMetrics().LatestAsync(tenantKey, jobId));

    private static async Task<Ok<MetricHistory>> MetricHistoryAsync(string tenantKey, Guid jobId, string metric, int? maxPoints, long? fromStep,
        long? toStep, IGrainFactory grains) =>
        TypedResults.Ok(fromStep is null && toStep is null
            ? await grains.TrainingMetrics().HistoryAsync(tenantKey, jobId, metric, maxPoints ?? 1000)
            : await grains.TrainingMetrics().HistoryRangeAsync(tenantKey, jobId, metric, maxPoints ?? 1000, fromStep, toStep));

    private static async Task<Ok<IReadOnlyList<string>>> MetricNamesAsync(string tenantKey, Guid jobId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.TrainingMetrics().NamesAsync(tenantKey, jobId));

    private static async Task<Ok<MetricTimeline>> TimelineAsync(string tenantKey, Guid jobId, string metric, DateTimeOffset? from, DateTimeOffset? to,
        int? maxPoints, IGrainFactory grains) =>
        TypedResults.Ok(await grains.TrainingMetrics().TimelineAsync(tenantKey, jobId, metric, from, to, maxPoints ?? 1000));

    private static async Task<Ok<IReadOnlyList<MetricHistory>>> CompareAsync(string tenantKey, string jobIds, string metric, int? maxPoints,
        IGrainFactory grains) =>
        TypedResults.Ok(await grains.TrainingMetrics().CompareAsync(tenantKey, ParseIds(jobIds), metric, maxPoints ?? 1000));

    private static Guid[] ParseIds(string jobIds) =>
        jobIds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(id => Guid.TryParse(id, out var guid) ? guid : throw PhantomException.Invalid($"'{id}' is not a job id.", "jobIds")).ToArray();
}
