using System.ComponentModel.DataAnnotations;

namespace PhantomMl.Grains.Compliance;

/// <summary>Thresholds of the compliance checks and where the platform's data lives. Section <c>Phantom:Compliance</c>.</summary>
public sealed class ComplianceOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Compliance";

    /// <summary>
    /// The region each store of tenant data runs in (<c>postgres</c>, <c>clickhouse</c>, <c>artifacts</c>, <c>redis</c>),
    /// e.g. <c>eu-central-1</c>. The data-residency check compares a tenant's <c>data_residency</c> with these; without
    /// them it reports <c>unknown</c>, never a guess.
    /// </summary>
    public Dictionary<string, string> StorageRegions { get; set; } = [];

    /// <summary>An active API key older than this many days fails the key-rotation check. Default 90.</summary>
    [Range(1, 3650)]
    public int ApiKeyMaxAgeDays { get; set; } = 90;

    /// <summary>An API key never used this many days after its creation fails the unused-key check. Default 30.</summary>
    [Range(1, 3650)]
    public int UnusedApiKeyDays { get; set; } = 30;

    /// <summary>Denied requests in one hour from which an hour counts as a spike (if also 3x the period's hourly mean). Default 20.</summary>
    [Range(1, 1_000_000)]
    public int DeniedSpikeMinimum { get; set; } = 20;

    /// <summary>Days a privacy request may stay open (GDPR art. 12(3): one month). Default 30.</summary>
    [Range(1, 365)]
    public int PrivacyRequestDays { get; set; } = 30;

    /// <summary>Audit rows an access export carries at most per section. Default 200,000.</summary>
    [Range(1, 10_000_000)]
    public int AccessExportMaxRows { get; set; } = 200_000;
}
