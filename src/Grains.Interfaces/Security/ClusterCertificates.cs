using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace PhantomMl.Grains.Security;

/// <summary>
/// Mutual TLS between silos and clients: every party presents a certificate issued by the cluster's own certificate
/// authority, and accepts the other only if its certificate chains to that authority. Host names are not checked
/// (silos are reached by address); who is trusted is decided by the authority alone. Shared by the silo and the SDK.
/// </summary>
public static class ClusterCertificates
{
    /// <summary>Loads a certificate with its private key from a PKCS#12 file (.pfx/.p12).</summary>
    public static X509Certificate2 LoadIdentity(string path, string? password) => X509CertificateLoader.LoadPkcs12FromFile(path, password);

    /// <summary>Loads the authority's certificate (PEM or DER) whose issued certificates are trusted.</summary>
    public static X509Certificate2 LoadAuthority(string path) => X509CertificateLoader.LoadCertificateFromFile(path);

    /// <summary>Whether <paramref name="presented"/> was issued by <paramref name="authority"/> and is valid now.</summary>
    public static bool IsIssuedBy(X509Certificate2? presented, X509Certificate2 authority)
    {
        if (presented is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        return chain.Build(presented) && chain.ChainElements[^1].Certificate.Thumbprint == authority.Thumbprint;
    }

    /// <summary>A validation callback for Orleans' TLS options that trusts the authority's certificates only.</summary>
    public static Func<X509Certificate2, X509Chain?, SslPolicyErrors, bool> Validator(X509Certificate2 authority) =>
        (certificate, _, _) => IsIssuedBy(certificate, authority);
}
