namespace PhantomMl.Silo.Apis.Mlflow;

/// <summary>
/// The MLflow-compatible REST API: tracking, registry and the artifact proxy, under the paths MLflow's clients and its UI
/// call. The tenant is the bearer key's (MLFLOW_TRACKING_TOKEN); errors are MLflow's (<see cref="MlflowErrors"/>).
/// </summary>
public static class MlflowApi
{
    /// <summary>Maps every MLflow endpoint under <c>/api/2.0</c> and <c>/ajax-api/2.0</c>.</summary>
    public static IEndpointRouteBuilder MapMlflowApi(this IEndpointRouteBuilder routes)
    {
        foreach (var root in new[] { "/api/2.0", "/ajax-api/2.0" })
        {
            var mlflow = routes.MapGroup($"{root}/mlflow").WithTags("MLflow");
            mlflow.MapMlflowTracking().MapMlflowRegistry();
            mlflow.Map("/{**rest}", EndpointNotFound);
            var artifacts = routes.MapGroup($"{root}/mlflow-artifacts").WithTags("MLflow");
            artifacts.MapMlflowArtifacts();
            artifacts.Map("/{**rest}", EndpointNotFound);
        }

        return routes;
    }

    private static Task EndpointNotFound(HttpContext http) =>
        MlflowErrors.WriteAsync(http, StatusCodes.Status404NotFound, "ENDPOINT_NOT_FOUND",
            $"No MLflow endpoint {http.Request.Method} {http.Request.Path}: docs/mlflow.md lists the ones served.");
}
