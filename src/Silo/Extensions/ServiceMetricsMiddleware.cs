using System.Collections.Concurrent;
using System.Diagnostics;
using PhantomMl.Grains.Analytics;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// Measures every request that reached an endpoint into <see cref="ServiceMetrics"/>: its route template (never the raw
/// path, so ids do not become operations), latency and status. The request's tenant is the route's <c>{tenantKey}</c>,
/// counted only when the caller was let in (not 401, 403 or 404), so unknown or foreign keys in URLs cannot grow the
/// tenant dimension; the key is resolved to the tenant id by the collector, not here.
/// </summary>
internal sealed class ServiceMetricsMiddleware(RequestDelegate next, ServiceMetrics metrics)
{
    private static readonly ConcurrentDictionary<(string Method, string Route), string> Operations = new();

    public async Task InvokeAsync(HttpContext context)
    {
        if (!metrics.Enabled)
        {
            await next(context);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var failed = false;
        try
        {
            await next(context);
        }
        catch
        {
            failed = true;
            throw;
        }
        finally
        {
            Record(context, started, failed);
        }
    }

    private void Record(HttpContext context, long started, bool failed)
    {
        if (context.GetEndpoint() is not RouteEndpoint endpoint)
        {
            return; // static files and unmatched paths: no operation to name
        }

        var status = failed ? StatusCodes.Status500InternalServerError : context.Response.StatusCode;
        var outcome = status >= 500 ? CallOutcome.ServerError : status >= 400 ? CallOutcome.ClientError : CallOutcome.Success;
        var admitted = status is not (StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden or StatusCodes.Status404NotFound);
        var tenant = admitted && context.Request.RouteValues.TryGetValue("tenantKey", out var key) && key is string tenantKey
            ? new TenantAttribution(null, tenantKey) : TenantAttribution.None;
        metrics.Record(ServiceMetrics.HttpService, Operation(context.Request.Method, endpoint), tenant, started, outcome);
    }

    // "GET /api/v1/tenants/{tenantKey}/models/{modelId:guid}": made once per method and endpoint, not per request.
    private static string Operation(string method, RouteEndpoint endpoint) =>
        Operations.GetOrAdd((method, endpoint.RoutePattern.RawText ?? ""), static key => $"{key.Method} {Trimmed(key.Route)}");

    // A group's "/" endpoint is ".../models/": the same resource as ".../models", as callers write it.
    private static string Trimmed(string route) => route.Length > 1 ? route.TrimEnd('/') : route;
}
