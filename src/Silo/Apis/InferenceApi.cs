using PhantomMl.Grains;
using System.Security.Cryptography;
using System.Text;
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
        models.MapPost("/predict", (string tenantKey, string name, PredictRequest request, IGrainFactory grains) =>
                Predictor(grains).PredictAsync(tenantKey, name, "active", request))
            .WithSummary("Score rows ({\"rows\": [{\"x1\": 0.5, ...}]}) with the model's active version");
        models.MapPost("/versions/{version}/predict", (string tenantKey, string name, string version, PredictRequest request, IGrainFactory grains) =>
                Predictor(grains).PredictAsync(tenantKey, name, version, request))
            .WithSummary("Score rows with a version, by label or alias (an alias's traffic split applies); each row names exactly the model's inputs");
        models.MapGet("/versions/{version}/inputs", (string tenantKey, string name, string version, IGrainFactory grains) =>
                Predictor(grains).DescribeAsync(tenantKey, name, version))
            .WithSummary("The inputs the version's ONNX model expects (name, element type, shape)");
        models.MapGet("/analytics", (string tenantKey, string name, DateTimeOffset? from, DateTimeOffset? to, int? bucketSeconds, string? version, IGrainFactory grains) =>
                grains.ServingAnalytics().GetAsync(tenantKey, name, from, to, bucketSeconds, version))
            .WithSummary("Per version and route (primary, challenger, shadow): requests, latency percentiles, throughput and confidence over time buckets");

        var batches = routes.MapGroup("/api/v1/tenants/{tenantKey}/batches").WithTags("Inference");
        batches.MapPost("/", async (string tenantKey, SubmitBatch request, HttpContext http, IGrainFactory grains) =>
            {
                var batch = await Batch(grains, tenantKey, NewBatchId(tenantKey, http)).SubmitAsync(request);
                return TypedResults.Accepted($"/api/v1/tenants/{tenantKey}/batches/{batch.Id}", batch);
            })
            .WithSummary("Score every row of a CSV dataset ({\"model\", \"version\", \"datasetUri\": \"model://{dataset}/versions/{v}\"}); answers at once with the batch");
        batches.MapGet("/{batchId:guid}", (string tenantKey, Guid batchId, IGrainFactory grains) => Batch(grains, tenantKey, batchId).GetAsync())
            .WithSummary("A batch: status, progress, counts of scored and failed rows");
        batches.MapPost("/{batchId:guid}/cancel", (string tenantKey, Guid batchId, IGrainFactory grains) => Batch(grains, tenantKey, batchId).CancelAsync())
            .WithSummary("Cancel a pending or running batch");
        batches.MapGet("/{batchId:guid}/output", (string tenantKey, Guid batchId, HttpContext http, IGrainFactory grains, IArtifactStore store) =>
                DownloadAsync(tenantKey, batchId, batch => batch.OutputPath, http, grains, store))
            .WithSummary("The output CSV of a completed batch: the input's columns plus prediction and confidence");
        batches.MapGet("/{batchId:guid}/errors", (string tenantKey, Guid batchId, HttpContext http, IGrainFactory grains, IArtifactStore store) =>
                DownloadAsync(tenantKey, batchId, batch => batch.ErrorsPath, http, grains, store))
            .WithSummary("The rows a completed batch could not score (row number, reason); 404 when there were none");
        return routes;
    }

    private static async Task DownloadAsync(string tenantKey, Guid batchId, Func<BatchView, string?> file, HttpContext http, IGrainFactory grains, IArtifactStore store)
    {
        var batch = await Batch(grains, tenantKey, batchId).GetAsync();
        var path = file(batch) ?? throw PhantomException.NotFound("batch file", batch.Status == "completed" ? "none was written" : $"the batch is {batch.Status}");
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

    private static IPredictionGrain Predictor(IGrainFactory grains) => grains.Predictor();

    private static IBatchInferenceGrain Batch(IGrainFactory grains, string tenantKey, Guid batchId) => grains.Batch(tenantKey, batchId);
}
