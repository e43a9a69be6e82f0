using System.Text.RegularExpressions;
using PhantomMl.Grains;
using PhantomMl.Grains.Security;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// For <c>/api</c> and <c>/ajax-api</c> (MLflow's UI) requests: refuses a request without an API key (401), refuses malformed client headers
/// (400), and puts the key and client details into Orleans' RequestContext for the grains to authenticate.
/// </summary>
internal sealed partial class CallContextMiddleware(RequestDelegate next, FailedAuthenticationLimiter failures)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/api") && !context.Request.Path.StartsWithSegments("/ajax-api"))
        {
            await next(context);
            return;
        }

        try
        {
            await InvokeApiAsync(context);
        }
        catch (PhantomException e) when (e.Status == StatusCodes.Status401Unauthorized)
        {
            failures.RecordFailure(context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
            throw;
        }
    }

    private async Task InvokeApiAsync(HttpContext context)
    {
        var key = ApiKeyOf(context.Request);
        if (key is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            throw PhantomException.Unauthenticated("No API key: send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.");
        }

        var sessionId = Header(context.Request, "X-Session-Id", "session id");
        var requestId = Header(context.Request, "Idempotency-Key", "idempotency key");
        RequestContext.Set(CallContext.ApiKey, key);
        RequestContext.Set(CallContext.RequestId, requestId ?? Guid.CreateVersion7().ToString());
        if (sessionId is not null)
        {
            RequestContext.Set(CallContext.SessionId, sessionId);
        }

        if (context.Connection.RemoteIpAddress is { } address)
        {
            RequestContext.Set(CallContext.ClientAddress, address.ToString());
        }

        var userAgent = context.Request.Headers.UserAgent.ToString();
        if (userAgent.Length > 0)
        {
            RequestContext.Set(CallContext.UserAgent, PhantomMl.Grains.Common.BoundedText.Fit(userAgent, CallContext.MaxUserAgentLength)!);
        }

        try
        {
            await next(context);
        }
        finally
        {
            RequestContext.Clear();
        }
    }

    private static string? ApiKeyOf(HttpRequest request) => ApiKeyHeaders.Bearer(request) ?? ApiKeyHeaders.XApiKey(request);

    private static string? Header(HttpRequest request, string name, string what)
    {
        var value = request.Headers[name].ToString();
        return value.Length == 0 ? null
            : ClientToken().IsMatch(value) ? value
            : throw PhantomException.Invalid($"The {name} header must be a {what} of 1-200 letters, digits, '.', '_', ':' or '-'.", name);
    }

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,200}$")]
    private static partial Regex ClientToken();
}
