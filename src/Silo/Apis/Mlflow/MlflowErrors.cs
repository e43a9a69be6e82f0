using System.Text.Json;
using PhantomMl.Grains;

namespace PhantomMl.Silo.Apis.Mlflow;

/// <summary>
/// MLflow's error format, <c>{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "..."}</c>, for every request under the
/// MLflow prefixes: the platform's errors mapped to MLflow's codes and the HTTP statuses MLflow gives them.
/// </summary>
public static class MlflowErrors
{
    /// <summary>The path prefixes MLflow's clients call.</summary>
    public static readonly string[] Prefixes = ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow", "/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts"];

    /// <summary>Whether a request is one of MLflow's (and so answered in MLflow's error format).</summary>
    public static bool IsMlflowPath(PathString path) => Prefixes.Any(prefix => path.StartsWithSegments(prefix));

    /// <summary>
    /// MLflow's code and status for a platform error. MLflow answers a name in use with RESOURCE_ALREADY_EXISTS (400) and a
    /// refused change of state with INVALID_STATE; the latter is 500 in MLflow, but a client's mistake is 4xx here (400).
    /// </summary>
    public static (int Status, string Code) Of(PhantomException e) => e.Status switch
    {
        StatusCodes.Status404NotFound => (404, "RESOURCE_DOES_NOT_EXIST"),
        StatusCodes.Status401Unauthorized => (401, "UNAUTHENTICATED"),
        StatusCodes.Status403Forbidden => (403, "PERMISSION_DENIED"),
        // The platform has one conflict type; its detail says which of MLflow's three it is.
        StatusCodes.Status409Conflict when e.Detail.Contains("exist", StringComparison.OrdinalIgnoreCase) => (400, "RESOURCE_ALREADY_EXISTS"),
        StatusCodes.Status409Conflict when e.Detail.Contains("keeps its first value", StringComparison.Ordinal) => (400, "INVALID_PARAMETER_VALUE"),
        StatusCodes.Status409Conflict or StatusCodes.Status412PreconditionFailed => (400, "INVALID_STATE"),
        StatusCodes.Status429TooManyRequests => (429, "RESOURCE_EXHAUSTED"),
        StatusCodes.Status501NotImplemented => (501, "NOT_IMPLEMENTED"),
        StatusCodes.Status503ServiceUnavailable => (503, "TEMPORARILY_UNAVAILABLE"),
        >= 500 => (500, "INTERNAL_ERROR"),
        _ => (400, "INVALID_PARAMETER_VALUE"),
    };

    /// <summary>Writes an MLflow error.</summary>
    public static async Task WriteAsync(HttpContext http, int status, string code, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, string> { ["error_code"] = code, ["message"] = message }));
    }
}
