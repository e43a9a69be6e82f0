using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PhantomMl.Client;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Cluster;

/// <summary>
/// Silos that require TLS with client certificates issued by the cluster's authority: they form a cluster over TLS, a
/// client with such a certificate works, and a client without one, or with one from another authority, calls nothing.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class TlsTests(ClusterDatabasesFixture fixture)
{
    private const string Password = "test-password";

    [Fact]
    public async Task With_TLS_required_only_clients_holding_a_certificate_of_the_clusters_authority_can_call_anything()
    {
        var folder = Directory.CreateTempSubdirectory("phantom-tls-").FullName;
        try
        {
            using var authority = Authority("Phantom test cluster CA");
            using var stranger = Authority("Somebody else's CA");
            var authorityFile = Path.Combine(folder, "ca.pem");
            await File.WriteAllTextAsync(authorityFile, authority.ExportCertificatePem(), TestContext.Current.CancellationToken);
            var siloCertificate = Write(folder, "silo.pfx", Issue(authority, "silo"));
            var clientCertificate = Write(folder, "client.pfx", Issue(authority, "sdk-client"));
            var strangerCertificate = Write(folder, "stranger.pfx", Issue(stranger, "sdk-client"));

            var tls = new Dictionary<string, string>
            {
                ["Phantom__Tls__CertificateFile"] = siloCertificate,
                ["Phantom__Tls__CertificatePassword"] = Password,
                ["Phantom__Tls__AuthorityFile"] = authorityFile,
            };
            var clusterId = ClusterDatabasesFixture.NewClusterId();
            await using var first = await SiloProcess.StartAsync(clusterId, fixture.Databases, settings: tls);
            await using var second = await SiloProcess.StartAsync(clusterId, fixture.Databases, settings: tls);
            await Task.WhenAll(first.WaitUntilReadyAsync(), second.WaitUntilReadyAsync());

            // Silo to silo over TLS: both are members, each sees the other.
            var silos = await first.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/cluster/silos");
            Assert.Equal(2, silos.GetArrayLength());

            await using (var trusted = await ConnectAsync(first, clusterId, clientCertificate, authorityFile))
            {
                Assert.Equal(2, (await trusted.GetSilosAsync(TestContext.Current.CancellationToken)).Count);
            }

            foreach (var certificate in new[] { strangerCertificate, null })
            {
                var refused = await Assert.ThrowsAnyAsync<Exception>(async () =>
                {
                    await using var client = await ConnectAsync(first, clusterId, certificate, authorityFile);
                    await client.GetSilosAsync(TestContext.Current.CancellationToken);
                });
                TestContext.Current.TestOutputHelper?.WriteLine($"{(certificate is null ? "no certificate" : "another authority's certificate")}: {refused.GetType().Name}");
                Assert.IsNotType<PhantomMl.Grains.PhantomException>(refused); // refused by the connection, not by a grain
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static Task<PhantomClient> ConnectAsync(SiloProcess silo, string clusterId, string? certificate, string authority) =>
        PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            Gateways = [$"127.0.0.1:{silo.Endpoints.GatewayPort}"],
            ClusterId = clusterId,
            ApiKey = silo.AdminKey,
            TlsCertificateFile = certificate,
            TlsCertificatePassword = Password,
            TlsAuthorityFile = certificate is null ? null : authority,
            RetryBudget = TimeSpan.FromSeconds(3),
            ResponseTimeout = TimeSpan.FromSeconds(5),
        }, TestContext.Current.CancellationToken);

    private static X509Certificate2 Authority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
    }

    private static X509Certificate2 Issue(X509Certificate2 authority, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false)); // server and client authentication
        using var issued = request.Create(authority, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(30), RandomNumberGenerator.GetBytes(8));
        return issued.CopyWithPrivateKey(key);
    }

    private static string Write(string folder, string name, X509Certificate2 certificate)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, Password));
        certificate.Dispose();
        return path;
    }
}
