using System.ComponentModel.DataAnnotations;
using System.Net;
using Orleans.Configuration;
using Orleans.Dashboard;
using PhantomMl.Grains.Security;

namespace PhantomMl.Silo.Extensions;

/// <summary>The Orleans silo: everything that must survive a silo lives in PostgreSQL.</summary>
public static class OrleansExtensions
{
    private const string AdoNetInvariant = "Npgsql";

    /// <summary>The stream provider every grain uses.</summary>
    public const string StreamProviderName = "phantom";

    /// <summary>
    /// Configures this process as a silo of the cluster named in <see cref="SiloHostOptions"/>. Call it after the areas:
    /// hosted services stop in reverse order, so theirs (buffers that flush, quota given back) stop after the silo's.
    /// </summary>
    public static WebApplicationBuilder AddPhantomSilo(this WebApplicationBuilder builder)
    {
        var silo = builder.Configuration.GetSection(SiloHostOptions.SectionName).Get<SiloHostOptions>() ?? new SiloHostOptions();
        Validator.ValidateObject(silo, new ValidationContext(silo), validateAllProperties: true);
        if (!IPAddress.TryParse(silo.AdvertisedIPAddress, out var advertisedAddress))
        {
            throw new ValidationException($"{SiloHostOptions.SectionName}:AdvertisedIPAddress '{silo.AdvertisedIPAddress}' is not an IP address.");
        }

        var postgreSql = builder.Configuration.GetConnectionString("PostgreSql")!;
        var tls = builder.Configuration.GetSection(ClusterTlsOptions.SectionName).Get<ClusterTlsOptions>() ?? new ClusterTlsOptions();

        builder.UseOrleans(orleans =>
        {
            orleans.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = silo.ClusterId;
                options.ServiceId = silo.ServiceId;
            });
            orleans.Configure<SiloOptions>(options => options.SiloName = silo.SiloName ?? $"silo-{silo.SiloPort}");
            orleans.ConfigureEndpoints(advertisedAddress, silo.SiloPort, silo.GatewayPort, silo.ListenOnAnyHostAddress);

            orleans.UseAdoNetClustering(options =>
            {
                options.Invariant = AdoNetInvariant;
                options.ConnectionString = postgreSql;
            });
            orleans.AddAdoNetGrainStorageAsDefault(options =>
            {
                options.Invariant = AdoNetInvariant;
                options.ConnectionString = postgreSql;
            });
            orleans.UseAdoNetReminderService(options =>
            {
                options.Invariant = AdoNetInvariant;
                options.ConnectionString = postgreSql;
            });
            // Orleans' own knobs for reminders (MinimumReminderPeriod, RefreshReminderListPeriod), Orleans' defaults unless
            // configured; under Phantom:Reminders because Orleans reads Orleans:Reminders as the choice of a provider.
            orleans.Services.Configure<ReminderOptions>(builder.Configuration.GetSection("Phantom:Reminders"));

            // Explicit stream subscriptions are kept in grain storage named PubSubStore.
            orleans.AddAdoNetGrainStorage("PubSubStore", options =>
            {
                options.Invariant = AdoNetInvariant;
                options.ConnectionString = postgreSql;
            });
            orleans.AddMemoryStreams(StreamProviderName);

            // The trust boundary: silos mark their calls; clients may call only the client surface, authenticated first.
            orleans.AddOutgoingGrainCallFilter<OriginStampFilter>();
            orleans.AddIncomingGrainCallFilter<ClientCallGate>();
            // Credential changes are pushed to every silo (CredentialEpoch): one service per silo takes them.
            orleans.AddGrainService<CredentialEpochService>();
            orleans.Services.AddSingleton<CredentialEpochPush>();
            if (tls.Enabled)
            {
                orleans.UseClusterTls(tls);
            }

            orleans.AddDashboard();
        });

        return builder;
    }

    /// <summary>
    /// Mutual TLS on both of the silo's ports: it presents its certificate, requires one from every silo and client, and
    /// accepts only certificates issued by the cluster's authority.
    /// </summary>
    private static void UseClusterTls(this ISiloBuilder orleans, ClusterTlsOptions tls)
    {
        if (string.IsNullOrWhiteSpace(tls.AuthorityFile))
        {
            throw new ValidationException($"{ClusterTlsOptions.SectionName}:AuthorityFile is required with a CertificateFile: it decides whom the " +
                $"silo trusts.");
        }

        var authority = ClusterCertificates.LoadAuthority(tls.AuthorityFile);
        orleans.UseTls(ClusterCertificates.LoadIdentity(tls.CertificateFile!, tls.CertificatePassword), options =>
        {
            options.RemoteCertificateMode = Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate;
            options.ClientCertificateMode = Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate;
            var trusted = ClusterCertificates.Validator(authority);
            options.RemoteCertificateValidation = (certificate, chain, errors) => trusted(certificate, chain, errors);
        });
    }

    /// <summary>Serves the Orleans Dashboard at <c>/dashboard</c>, to platform admins only.</summary>
    public static WebApplication MapPhantomDashboard(this WebApplication app)
    {
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/dashboard"),
            dashboard => dashboard.UseMiddleware<DashboardAuthenticationMiddleware>().UseMiddleware<DashboardSiloAddressCheck>());
        app.MapOrleansDashboard(routePrefix: "/dashboard");
        return app;
    }
}
