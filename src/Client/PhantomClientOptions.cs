namespace PhantomMl.Client;

/// <summary>How the SDK finds the cluster, how it proves itself to it, and how long it rides out a silo failure.</summary>
public sealed class PhantomClientOptions
{
    /// <summary>
    /// The silos' gateways as <c>host:port</c> (each silo's <c>Phantom:Silo:GatewayPort</c>): the SDK connects to them and
    /// needs no database. Give this or <see cref="MembershipConnectionString"/>.
    /// </summary>
    public IReadOnlyList<string> Gateways { get; set; } = [];

    /// <summary>
    /// A PostgreSQL connection string as the <c>phantom_membership</c> role, which can read the cluster's membership (where
    /// the gateways are) and nothing else: the SDK then follows silos as they come and go. Never the platform's own login.
    /// Give this or <see cref="Gateways"/>.
    /// </summary>
    public string? MembershipConnectionString { get; set; }

    /// <summary>
    /// The API key every call carries; the grains authenticate and authorize it exactly as for HTTP calls. Without one,
    /// every call is refused (401).
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>A session id recorded in audit rows. Default: one new id per client.</summary>
    public string SessionId { get; set; } = $"sdk-{Guid.NewGuid():N}";

    /// <summary>The cluster to join. Default <c>phantom</c>, as the silos.</summary>
    public string ClusterId { get; set; } = "phantom";

    /// <summary>The service identity. Default <c>phantom-ml</c>, as the silos.</summary>
    public string ServiceId { get; set; } = "phantom-ml";

    /// <summary>
    /// This client's certificate with its private key (PKCS#12), issued by the cluster's authority, for a cluster that
    /// requires TLS (<c>Phantom:Tls</c>). Unset: plaintext.
    /// </summary>
    public string? TlsCertificateFile { get; set; }

    /// <summary>The password of <see cref="TlsCertificateFile"/>.</summary>
    public string? TlsCertificatePassword { get; set; }

    /// <summary>The cluster authority's certificate: only silos presenting a certificate it issued are trusted.</summary>
    public string? TlsAuthorityFile { get; set; }

    /// <summary>
    /// How long a call keeps retrying while the cluster is unreachable or a silo is being declared dead.
    /// Default 45 s: membership needs about 10 s to declare a killed silo dead, then grains move.
    /// </summary>
    public TimeSpan RetryBudget { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>How long one grain call may take before it fails with a timeout. Default 10 s.</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether concurrent predictions for the same version are sent together in one grain call (each still answered,
    /// charged and recorded as if alone). Default true; a lone prediction is sent at once either way.
    /// </summary>
    public bool CoalescePredictions { get; set; } = true;
}
