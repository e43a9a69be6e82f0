using PhantomMl.Grains.Inference;

namespace PhantomMl.Silo.Apis;

/// <summary>
/// Online predictions from registered models: <c>POST .../models/{name}/predict</c> (the active version) and
/// <c>POST .../models/{name}/versions/{version}/predict</c> (a label or an alias).
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
            .WithSummary("Score rows with a version, by label or alias; each row names exactly the model's inputs");
        models.MapGet("/versions/{version}/inputs", (string tenantKey, string name, string version, IGrainFactory grains) =>
                Predictor(grains).DescribeAsync(tenantKey, name, version))
            .WithSummary("The inputs the version's ONNX model expects (name, element type, shape)");
        return routes;
    }

    private static IPredictionGrain Predictor(IGrainFactory grains) => grains.GetGrain<IPredictionGrain>(0);
}
