using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using PhantomMl.Grains;
using PhantomMl.Grains.Inference;
using PhantomMl.Grains.Models;

namespace PhantomMl.Silo.Apis;

/// <summary>
/// Online predictions (<c>POST .../models/{name}/predict</c> for the active version, <c>.../versions/{version}/predict</c>
/// for a label or an alias), serving analytics (<c>GET .../models/{name}/analytics</c>), and batch inference
/// (<c>.../batches</c>).
/// </summary>
public static class InferenceApi
{
    /// <summary>Maps the inference API.</summary>
    public static IEndpointRouteBuilder MapInferenceApi(this IEndpointRouteBuilder routes)
    {
        var models = routes.MapGroup("/api/v1/tenants/{tenantKey}/models/{name}").WithTags("Inference");
        models.MapPost("/predict", PredictActiveAsync).WithSummary("Score rows ({\"rows\": [{\"x1\": 0.5, ...}]}) with the model's active version");
        models.MapPost("/versions/{version}/predict", PredictAsync)
            .WithSummary("Score rows with a version, by label or alias (an alias's traffic split applies); each row names exactly the model's " +
                "inputs");
        models.MapGet("/versions/{version}/inputs",
            DescribeAsync).WithSummary("The inputs the version's ONNX model expects (name, element type, shape)");
        models.MapGet("/analytics", AnalyticsAsync)
            .WithSummary("Per version and route (primary, challenger, shadow): requests, latency percentiles, throughput and confidence over time " +
                "buckets");

        var batches = routes.MapGroup("/api/v1/tenants/{tenantKey}/batches").WithTags("Inference");
        batches.MapPost("/", SubmitBatchAsync)
            .WithSummary("Score every row of a CSV dataset ({\"model\", \"version\", \"datasetUri\": \"model://{dataset}/versions/{v}\"}); " +
                "answers at once with the batch");
        batches.MapGet("/{batchId:guid}", GetBatchAsync).WithSummary("A batch: status, progress, counts of scored and failed rows");
        batches.MapPost("/{batchId:guid}/cancel", CancelBatchAsync).WithSummary("Cancel a pending or running batch");
        batches.MapGet("/{batchId:guid}/output", DownloadOutputAsync)
            .WithSummary("The output CSV of a completed batch: the input's columns plus prediction and confidence");
        batches.MapGet("/{batchId:guid}/errors", DownloadErrorsAsync)
            .WithSummary("The rows a completed batch could not score (row number, reason); 404 when there were none");
        return routes;
    }

    private static async Task<Ok<PredictionView>> PredictActiveAsync(string tenantKey, string name, PredictRequest request,
        HttpPredictions predictions, HttpContext http) =>
        TypedResults.Ok(await predictions.PredictAsync(tenantKey, name, "active", request, http));

    private static async Task<Ok<PredictionView>> PredictAsync(string tenantKey, string name, string version, PredictRequest request,
        HttpPredictions predictions, HttpContext http) =>
        TypedResults.Ok(await predictions.PredictAsync(tenantKey, name, version, request, http));

    private static async Task<Ok<IReadOnlyList<ModelInput>>> DescribeAsync(string tenantKey, string name, string version, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Predictor().DescribeAsync(tenantKey, name, version));

    private static async Task<Ok<ServingAnalytics>> AnalyticsAsync(string tenantKey, string name, DateTimeOffset? from, DateTimeOffset? to,
        int? bucketSeconds, string? version, IGrainFactory grains) =>
        TypedResults.Ok(await grains.ServingAnalytics().GetAsync(tenantKey, name, from, to, bucketSeconds, version));

    private static async Task<Accepted<BatchView>> SubmitBatchAsync(string tenantKey, SubmitBatch request, HttpContext http, IGrainFactory grains)
    {
        var batch = await grains.Batch(tenantKey, NewBatchId(tenantKey, http)).SubmitAsync(request);
        return TypedResults.Accepted($"/api/v1/tenants/{tenantKey}/batches/{batch.Id}", batch);
    }

    private static async Task<Ok<BatchView>> GetBatchAsync(string tenantKey, Guid batchId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Batch(tenantKey, batchId).GetAsync());

    private static async Task<Ok<BatchView>> CancelBatchAsync(string tenantKey, Guid batchId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Batch(tenantKey, batchId).CancelAsync());

    private static Task DownloadOutputAsync(string tenantKey, Guid batchId, HttpContext http, IGrainFactory grains, IArtifactStore store) =>
        DownloadAsync(tenantKey, batchId, batch => batch.OutputPath, http, grains, store);

    private static Task DownloadErrorsAsync(string tenantKey, Guid batchId, HttpContext http, IGrainFactory grains, IArtifactStore store) =>
        DownloadAsync(tenantKey, batchId, batch => batch.ErrorsPath, http, grains, store);

    // Writes the response itself: the file streams from the store, never whole in memory.
    private static async Task DownloadAsync(string tenantKey, Guid batchId, Func<BatchView, string?> file, HttpContext http, IGrainFactory grains,
        IArtifactStore store)
    {
        var batch = await grains.Batch(tenantKey, batchId).GetAsync();
        var path = file(batch)
            ?? throw PhantomException.NotFound("batch file", batch.Status == "completed" ? "none was written" : $"the batch is {batch.Status}");
        http.Response.ContentType = "text/csv";
        await using var content = await store.OpenReadAsync(path, 0, null, http.RequestAborted);
        await content.CopyToAsync(http.Response.Body, 1 << 16, http.RequestAborted);
    }

    /// <summary>
    /// A new batch's id; with an <c>Idempotency-Key</c> header, derived from it, so a client retrying the same submission
    /// gets the same batch instead of a second one.
    /// </summary>
    private static Guid NewBatchId(string tenantKey, HttpContext http) =>
        http.Request.Headers["Idempotency-Key"].ToString() is { Length: > 0 } key
            ? new Guid(SHA256.HashData(Encoding.UTF8.GetBytes($"batch:{tenantKey}:{key}")).AsSpan(0, 16))
            : Guid.CreateVersion7();
}
