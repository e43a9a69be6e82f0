using System.ComponentModel.DataAnnotations;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// Where this silo listens and which cluster it joins. Section <c>Phantom:Silo</c>. Silos with the same
/// ClusterId and the same PostgreSQL database form one cluster, on one host or many.
/// </summary>
public sealed class SiloHostOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Silo";

    /// <summary>Cluster identity: silos and clients with equal ClusterId find each other. Default <c>phantom</c>.</summary>
    [Required, RegularExpression("^[A-Za-z0-9._-]{1,100}$")]
    public string ClusterId { get; set; } = "phantom";

    /// <summary>Service identity: grain state and reminders are stored under it, across cluster redeployments. Default <c>phantom-ml</c>.</summary>
    [Required, RegularExpression("^[A-Za-z0-9._-]{1,100}$")]
    public string ServiceId { get; set; } = "phantom-ml";

    /// <summary>
    /// The address other silos and clients use to reach this one. Default 127.0.0.1; set the host's address on a
    /// multi-host cluster.
    /// </summary>
    [Required]
    public string AdvertisedIPAddress { get; set; } = "127.0.0.1";

    /// <summary>Silo-to-silo port. Default 11111; each silo on one host needs its own.</summary>
    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Client gateway port. Default 30000; each silo on one host needs its own.</summary>
    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Listen on every interface instead of only the advertised address. Default false.</summary>
    public bool ListenOnAnyHostAddress { get; set; }

    /// <summary>A readable silo name for logs and the dashboard. Default <c>silo-{SiloPort}</c>.</summary>
    public string? SiloName { get; set; }
}
