using PhantomMl.Grains;
using PhantomMl.Grains.Security;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// The dashboard shows the whole cluster, so it is for platform admins only. A browser cannot send a
/// bearer token, so besides <c>Authorization: Bearer</c> the key is accepted as the password of HTTP Basic
/// authentication (any user name): the browser asks for it once.
/// </summary>
internal sealed class DashboardAuthenticationMiddleware(RequestDelegate next, CallerAuthenticator authenticator)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var key = KeyOf(context.Request);
        var allowed = false;
        if (key is not null)
        {
            try
            {
                var client = new ClientDetails(Guid.CreateVersion7().ToString(), null, context.Connection.RemoteIpAddress?.ToString(),
                    context.Request.Headers.UserAgent.ToString());
                var caller = await authenticator.AuthenticateAsync(key, client);
                allowed = caller.IsPlatformAdmin && caller.Can(Permissions.ClusterOperate);
            }
            catch (PhantomException e) when (e.Status == StatusCodes.Status401Unauthorized)
            {
                allowed = false;
            }
        }

        if (!allowed)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            // Browsers answer a Basic challenge with a login prompt; user name: anything, password: the key.
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"Phantom ML dashboard\", charset=\"UTF-8\"";
            return;
        }

        await next(context);
    }

    private static string? KeyOf(HttpRequest request) => ApiKeyHeaders.Bearer(request) ?? ApiKeyHeaders.BasicPassword(request);
}
