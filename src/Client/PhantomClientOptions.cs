namespace PhantomMl.Client;

/// <summary>How the SDK finds the cluster and how long it rides out a silo failure.</summary>
public sealed class PhantomClientOptions
{
    /// <summary>PostgreSQL connection string of the cluster's membership table (the silos' <c>ConnectionStrings:PostgreSql</c>).</summary>
    public required string MembershipConnectionString { get; set; }

    /// <summary>
    /// The API key every call carries; the grains authenticate and authorize it exactly as for HTTP calls.
    /// Null is allowed for the diagnostics probes only.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>A session id recorded in audit rows. Default: one new id per client.</summary>
    public string SessionId { get; set; } = $"sdk-{Guid.NewGuid():N}";

    /// <summary>The cluster to join. Default <c>phantom</c>, as the silos.</summary>
    public string ClusterId { get; set; } = "phantom";

    /// <summary>The service identity. Default <c>phantom-ml</c>, as the silos.</summary>
    public string ServiceId { get; set; } = "phantom-ml";

    /// <summary>
    /// How long a call keeps retrying while the cluster is unreachable or a silo is being declared dead.
    /// Default 45 s: membership needs about 10 s to declare a killed silo dead, then grains move.
    /// </summary>
    public TimeSpan RetryBudget { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>How long one grain call may take before it fails with a timeout. Default 10 s.</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
