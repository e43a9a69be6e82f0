using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using PhantomMl.Grains;
using PhantomMl.Silo.Apis.Mlflow;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// Turns the platform's errors into RFC 7807 ProblemDetails with a stable type per kind of error:
/// <see cref="PhantomException"/> as it says; a request the framework could not read (malformed JSON,
/// wrong types, a body over the size limit) as 400 or 413; and a silo that is leaving the cluster as 503
/// with Retry-After, because that is the cluster healing (about 10 s after a crash), not a server bug.
/// </summary>
internal sealed class ProblemExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    private const int RetryAfterSeconds = 2;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            PhantomException e => Problem(e.Status, e.Type, e.Title, e.Detail, e.Extensions),
            BadHttpRequestException e => Problem(e.StatusCode,
                e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "payload-too-large" : "invalid-request",
                e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "The request body is too large" : "The request is invalid",
                // The JSON reader's message names the member and the expected type; it never echoes the payload.
                e.InnerException is System.Text.Json.JsonException json ? $"{e.Message} {json.Message}"
                : e.Message.Contains("no body was provided", StringComparison.Ordinal) ? "A JSON request body is required."
                : e.Message),
            _ when ClusterFailures.IsTransient(exception, httpContext.RequestAborted) =>
                Problem(StatusCodes.Status503ServiceUnavailable, ProblemTypes.ClusterUnavailable, "The cluster is moving this resource",
                    "A silo left the cluster and its grains are being reactivated elsewhere. Retry shortly."),
            _ => null,
        };
        if (problem is null)
        {
            return false;
        }

        if (MlflowErrors.IsMlflowPath(httpContext.Request.Path))
        {
            // MLflow's clients read {"error_code", "message"}, not ProblemDetails.
            var (status, code) = exception is PhantomException phantom ? MlflowErrors.Of(phantom)
                : problem.Status == StatusCodes.Status503ServiceUnavailable ? (503, "TEMPORARILY_UNAVAILABLE")
                : exception is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } ? (413, "INVALID_PARAMETER_VALUE")
                : (400, "MALFORMED_REQUEST");
            await MlflowErrors.WriteAsync(httpContext, status, code, problem.Detail ?? problem.Title ?? code);
            return true;
        }

        httpContext.Response.StatusCode = problem.Status!.Value;
        if (problem.Status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString();
        }
        else if (problem.Status == StatusCodes.Status401Unauthorized)
        {
            httpContext.Response.Headers.WWWAuthenticate = "Bearer";
        }
        else if (problem.Status == StatusCodes.Status429TooManyRequests && problem.Extensions.TryGetValue("retryAfter", out var retryAfter))
        {
            httpContext.Response.Headers.RetryAfter = retryAfter?.ToString();
        }

        return await problemDetails.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem });
    }

    private static ProblemDetails Problem(int status, string type, string title, string detail,
        IReadOnlyDictionary<string, string>? extensions = null)
    {
        var problem = new ProblemDetails
        {
            Status = status,
            Type = ProblemTypes.Of(type),
            Title = title,
            Detail = detail,
        };
        foreach (var (name, value) in extensions ?? new Dictionary<string, string>())
        {
            problem.Extensions[name] = value;
        }

        return problem;
    }
}
