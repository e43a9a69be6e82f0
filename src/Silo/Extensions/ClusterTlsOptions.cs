namespace PhantomMl.Silo.Extensions;

/// <summary>
/// Mutual TLS for silo-to-silo and client-to-gateway traffic. Section <c>Phantom:Tls</c>. Off unless
/// <see cref="CertificateFile"/> is set; when on, every connection must present a certificate issued by
/// <see cref="AuthorityFile"/>, so a client without such a certificate cannot call anything.
/// </summary>
public sealed class ClusterTlsOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Tls";

    /// <summary>This silo's certificate with its private key (PKCS#12). Unset (the default): plaintext, for loopback only.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>The password of <see cref="CertificateFile"/>; from the environment or a secret store, never committed.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>The certificate of the authority that issues the cluster's silo and client certificates (PEM or DER).</summary>
    public string? AuthorityFile { get; set; }

    /// <summary>Whether TLS is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(CertificateFile);
}
