using PhantomMl.Grains;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// The dashboard's per-silo endpoints take a silo address from the path and turn it into a grain key unchecked; an
/// address that does not parse failed the activation with a 500. This answers 400 for those instead, before the
/// dashboard sees them.
/// </summary>
internal sealed class DashboardSiloAddressCheck(RequestDelegate next)
{
    private static readonly string[] PerSiloEndpoints = ["/HistoricalStats", "/SiloProperties", "/SiloMetadata", "/SiloStats", "/SiloCounters"];

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        foreach (var endpoint in PerSiloEndpoints)
        {
            if (path.StartsWithSegments("/dashboard" + endpoint, StringComparison.OrdinalIgnoreCase,
                out var rest) && !IsSiloAddress(rest.Value?.TrimStart('/')))
            {
                throw PhantomException.Invalid("The dashboard takes a silo address such as 127.0.0.1:11111@123456789.", "address");
            }
        }

        return next(context);
    }

    private static bool IsSiloAddress(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > 100)
        {
            return false;
        }

        try
        {
            return SiloAddress.FromParsableString(text) is not null;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IndexOutOfRangeException or OverflowException)
        {
            return false;
        }
    }
}
