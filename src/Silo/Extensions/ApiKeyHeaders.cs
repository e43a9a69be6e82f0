using System.Text;

namespace PhantomMl.Silo.Extensions;

/// <summary>Where an HTTP request may carry its API key.</summary>
internal static class ApiKeyHeaders
{
    /// <summary>The key of <c>Authorization: Bearer &lt;key&gt;</c>; null without one.</summary>
    public static string? Bearer(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization["Bearer ".Length..].Trim() : null;
    }

    /// <summary>The key of <c>X-Api-Key: &lt;key&gt;</c>; null without one.</summary>
    public static string? XApiKey(HttpRequest request) => request.Headers["X-Api-Key"].ToString() is { Length: > 0 } key ? key.Trim() : null;

    /// <summary>The password of HTTP Basic authentication (the user name is ignored); null without one or when malformed.</summary>
    public static string? BasicPassword(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization["Basic ".Length..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon >= 0 ? decoded[(colon + 1)..] : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
