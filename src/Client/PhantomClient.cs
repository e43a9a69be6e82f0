using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using PhantomMl.Grains;
using PhantomMl.Grains.Diagnostics;
using PhantomMl.Grains.Inference;
using PhantomMl.Grains.Security;

namespace PhantomMl.Client;

/// <summary>
/// The Phantom ML Core SDK: an Orleans client that finds the silos' gateways (a static list, or the membership table
/// read as the membership-only role), optionally over mutual TLS, and retries the calls a silo failure interrupts. It
/// holds no credential of the platform's own: every call carries the caller's API key and is authorized like HTTP.
/// </summary>
public sealed partial class PhantomClient : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly PhantomClientOptions _options;
    private readonly PredictionCoalescer<(string TenantKey, string Model, string Version)> _predictions;

    private PhantomClient(IHost host, PhantomClientOptions options)
    {
        _host = host;
        _options = options;
        Grains = host.Services.GetRequiredService<IClusterClient>();
        _predictions = new PredictionCoalescer<(string TenantKey, string Model, string Version)>((version, requests) =>
            CallAsync(grains => grains.Predictor().PredictManyAsync(version.TenantKey, version.Model, version.Version, requests)));
    }

    /// <summary>The grain factory, for calls this SDK does not wrap yet.</summary>
    public IClusterClient Grains { get; }

    /// <summary>Connects to the cluster, retrying within <see cref="PhantomClientOptions.RetryBudget"/> while no silo answers.</summary>
    public static async Task<PhantomClient> ConnectAsync(PhantomClientOptions options, CancellationToken cancellationToken = default)
    {
        if (options.Gateways.Count == 0 == string.IsNullOrWhiteSpace(options.MembershipConnectionString))
        {
            throw new ArgumentException("Give either Gateways (host:port of the silos' gateways) or MembershipConnectionString (the " +
                "phantom_membership role), not both.", nameof(options));
        }

        var gateways = await ResolveGatewaysAsync(options, cancellationToken);

        // The SDK lives inside its user's process: its host takes neither Ctrl-C nor SIGTERM over (a console lifetime would
        // stop the client on them and print its status), reads no configuration of the application, and logs only
        // warnings, to standard error.
        var host = new HostBuilder()
            .ConfigureServices(services => services.AddSingleton<IHostLifetime, EmbeddedLifetime>())
            .ConfigureLogging(logging => logging
                .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)
                .SetMinimumLevel(LogLevel.Warning))
            .UseOrleansClient(client =>
            {
                client.Configure<ClusterOptions>(cluster =>
                {
                    cluster.ClusterId = options.ClusterId;
                    cluster.ServiceId = options.ServiceId;
                });
                client.Configure<ClientMessagingOptions>(messaging => messaging.ResponseTimeout = options.ResponseTimeout);
                if (gateways.Length > 0)
                {
                    client.UseStaticClustering(gateways);
                }
                else
                {
                    client.UseAdoNetClustering(clustering =>
                    {
                        clustering.Invariant = "Npgsql";
                        clustering.ConnectionString = options.MembershipConnectionString;
                    });
                }

                if (!string.IsNullOrWhiteSpace(options.TlsCertificateFile))
                {
                    var authority = ClusterCertificates.LoadAuthority(options.TlsAuthorityFile
                        ?? throw new ArgumentException("TlsAuthorityFile is required with TlsCertificateFile: it decides which silos are trusted.",
                            nameof(options)));
                    client.UseTls(ClusterCertificates.LoadIdentity(options.TlsCertificateFile, options.TlsCertificatePassword), tls =>
                    {
                        tls.RemoteCertificateMode = Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate;
                        var trusted = ClusterCertificates.Validator(authority);
                        tls.RemoteCertificateValidation = (certificate, chain, errors) => trusted(certificate, chain, errors);
                    });
                }

                client.UseConnectionRetryFilter(new RetryWithinBudget(options.RetryBudget));
                client.AddOutgoingGrainCallFilter(new CredentialFilter(options));
            })
            .Build();

        await host.StartAsync(cancellationToken);
        return new PhantomClient(host, options);
    }

    /// <summary>A host lifetime that leaves the process's signals to the application the SDK runs in.</summary>
    private sealed class EmbeddedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static async Task<IPEndPoint[]> ResolveGatewaysAsync(PhantomClientOptions options, CancellationToken cancellationToken)
    {
        var endpoints = new List<IPEndPoint>();
        foreach (var gateway in options.Gateways)
        {
            var colon = gateway.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(gateway[(colon + 1)..], out var port) || port is < 1 or > 65535)
            {
                throw new ArgumentException($"Gateway '{gateway}' is not host:port.", nameof(options));
            }

            var hostName = gateway[..colon].Trim('[', ']');
            if (IPAddress.TryParse(hostName, out var address))
            {
                endpoints.Add(new IPEndPoint(address, port));
                continue;
            }

            try
            {
                endpoints.Add(new IPEndPoint((await Dns.GetHostAddressesAsync(hostName, cancellationToken)).First(), port));
            }
            catch (Exception e) when (e is SocketException or InvalidOperationException)
            {
                throw new ArgumentException($"Gateway '{gateway}': the host name does not resolve ({e.Message}).", nameof(options), e);
            }
        }

        return [.. endpoints];
    }

    /// <summary>Increments and persists a probe grain's count; reports the silo that hosts it.</summary>
    public Task<ProbeReading> TouchProbeAsync(string key, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Probe(key).TouchAsync(), cancellationToken);

    /// <summary>The silos that are members of the cluster now (platform admins).</summary>
    public Task<IReadOnlyList<SiloInfo>> GetSilosAsync(CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Cluster().GetSilosAsync(), cancellationToken);

    /// <summary>Reads a probe grain without changing it.</summary>
    public Task<ProbeReading> ReadProbeAsync(string key, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Probe(key).ReadAsync(), cancellationToken);

    /// <summary>
    /// Runs a grain call, retrying while its silo is unreachable or being declared dead, within
    /// <see cref="PhantomClientOptions.RetryBudget"/>. A call cut off after it reached its grain may run
    /// twice; the platform's state-changing calls carry idempotency keys or expected versions for that.
    /// </summary>
    public async Task<T> CallAsync<T>(Func<IGrainFactory, Task<T>> call, CancellationToken cancellationToken = default)
    {
        // One idempotency key for every attempt: a retried change that had already committed is not applied twice.
        RequestContext.Set(CallContext.RequestId, Guid.CreateVersion7().ToString());
        var deadline = DateTimeOffset.UtcNow + _options.RetryBudget;
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                return await call(Grains).WaitAsync(cancellationToken);
            }
            catch (Exception e) when (ClusterFailures.IsTransient(e, cancellationToken) && DateTimeOffset.UtcNow + delay < deadline)
            {
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2_000));
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }

    /// <summary>Puts the API key and session into every outgoing call's context.</summary>
    private sealed class CredentialFilter(PhantomClientOptions options) : IOutgoingGrainCallFilter
    {
        public Task Invoke(IOutgoingGrainCallContext context)
        {
            if (options.ApiKey is not null)
            {
                RequestContext.Set(CallContext.ApiKey, options.ApiKey);
            }

            RequestContext.Set(CallContext.SessionId, options.SessionId);
            RequestContext.Set(CallContext.UserAgent, "PhantomMl.Client");
            return context.Invoke();
        }
    }

    /// <summary>Keeps reconnecting to the gateways until the budget runs out.</summary>
    private sealed class RetryWithinBudget(TimeSpan budget) : IClientConnectionRetryFilter
    {
        private readonly DateTimeOffset _deadline = DateTimeOffset.UtcNow + budget;

        public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
        {
            if (DateTimeOffset.UtcNow >= _deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            return true;
        }
    }
}
