using System.ComponentModel.DataAnnotations;

namespace PhantomMl.Grains.Security;

/// <summary>How many failed authentications are tolerated before callers are refused for a while. Section <c>Phantom:Security</c>.</summary>
public sealed class AuthenticationThrottleOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Security";

    /// <summary>The window failures are counted in; past a limit, refusals last until the window ends. Default 5 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan FailedAuthenticationWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Failed authentications with one key prefix (a known key's public part) per window. Default 20.</summary>
    [Range(1, 1_000_000)]
    public int FailuresPerKeyPrefix { get; set; } = 20;

    /// <summary>Failed authentications from one client (HTTP: its address; SDK: its connection) per window. Default 50.</summary>
    [Range(1, 1_000_000)]
    public int FailuresPerClient { get; set; } = 50;
}
