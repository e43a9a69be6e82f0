using System.ComponentModel.DataAnnotations;

namespace PhantomMl.Grains.Audit;

/// <summary>The audit chain, its signed digests and the search backend. Section <c>Phantom:Audit</c>.</summary>
public sealed class AuditOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Audit";

    /// <summary>
    /// Keys that sign digests (ECDSA P-256, PEM). Keep every key that ever signed: digests are checked with the key named
    /// in them. Required: scripts/services.sh makes one for a local deployment.
    /// </summary>
    [MinLength(1, ErrorMessage = "Configure at least one audit signing key (Phantom:Audit:SigningKeys:0:Id and PrivateKeyFile or PrivateKeyPem).")]
    public List<AuditSigningKey> SigningKeys { get; set; } = [];

    /// <summary>The key that signs new digests; default: the last one listed (add a key at the end to rotate).</summary>
    public string? ActiveKeyId { get; set; }

    /// <summary>How often the sweep seals waiting rows into each tenant's chain. Default 1 minute (Orleans' shortest reminder).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan SealInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The period of a tenant's signed digests: the sweep signs one when the last is older. Default 1 hour.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "31.00:00:00")]
    public TimeSpan DigestPeriod { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Rows sealed per transaction. Default 5000.</summary>
    [Range(1, 100_000)]
    public int SealBatchSize { get; set; } = 5000;
}

/// <summary>A digest signing key: its id (written into every digest it signs) and its private key, inline or in a file.</summary>
public sealed class AuditSigningKey
{
    /// <summary>The key id, 1-100 of letters, digits, '.', '_', '-'.</summary>
    [Required, RegularExpression("^[A-Za-z0-9._-]{1,100}$")]
    public string Id { get; set; } = "";

    /// <summary>The PEM text of the private key (from a secret store or the environment).</summary>
    public string? PrivateKeyPem { get; set; }

    /// <summary>A file holding the PEM private key (readable by the silo only).</summary>
    public string? PrivateKeyFile { get; set; }
}
