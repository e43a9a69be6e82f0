using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Orleans.Runtime.Messaging;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// While a silo is being declared dead (about 10 s after a crash) calls to its grains fail. That is the
/// cluster healing, not a server bug: the answer is 503 with Retry-After, so HTTP clients retry as the SDK does.
/// </summary>
internal sealed class ClusterUnavailableExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    private const int RetryAfterSeconds = 2;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not (SiloUnavailableException or OrleansMessageRejectionException or ConnectionFailedException or GatewayTooBusyException or TimeoutException))
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString();
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Type = "https://phantom-ml.dev/problems/cluster-unavailable",
                Title = "The cluster is moving this resource",
                Detail = "A silo left the cluster and its grains are being reactivated elsewhere. Retry shortly.",
            },
        });
    }
}
