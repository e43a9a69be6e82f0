using System.ComponentModel.DataAnnotations;
using System.Net;
using Orleans.Configuration;
using Orleans.Dashboard;
using PhantomMl.Grains.Inference;
using PhantomMl.Grains.Maintenance;
using PhantomMl.Grains.Training;
using PhantomMl.Grains.Training.BuiltIn;

namespace PhantomMl.Silo.Extensions;

/// <summary>The Orleans silo: everything that must survive a silo lives in PostgreSQL.</summary>
public static class OrleansExtensions
{
    private const string AdoNetInvariant = "Npgsql";

    /// <summary>The stream provider every grain uses.</summary>
    public const string StreamProviderName = "phantom";

    /// <summary>Configures this process as a silo of the cluster named in <see cref="SiloHostOptions"/>.</summary>
    public static WebApplicationBuilder AddPhantomSilo(this WebApplicationBuilder builder)
    {
        var silo = builder.Configuration.GetSection(SiloHostOptions.SectionName).Get<SiloHostOptions>() ?? new SiloHostOptions();
        Validator.ValidateObject(silo, new ValidationContext(silo), validateAllProperties: true);
        if (!IPAddress.TryParse(silo.AdvertisedIPAddress, out var advertisedAddress))
        {
            throw new ValidationException($"{SiloHostOptions.SectionName}:AdvertisedIPAddress '{silo.AdvertisedIPAddress}' is not an IP address.");
        }

        var postgreSql = builder.Configuration.GetConnectionString("PostgreSql")!;

        // Registered before the silo so that it stops after it: grain calls drain first, then waiting metrics flush.
        builder.Services.AddOptions<MetricsBufferOptions>().BindConfiguration(MetricsBufferOptions.SectionName);
        builder.Services.AddSingleton<MetricsBuffer>();
        builder.Services.AddHostedService(services => services.GetRequiredService<MetricsBuffer>());
        // Likewise: queued inference records are written, and unused request quota given back, after the last request.
        builder.Services.AddOptions<InferenceOptions>().BindConfiguration(InferenceOptions.SectionName);
        builder.Services.AddSingleton<InferenceRecorder>();
        builder.Services.AddHostedService(services => services.GetRequiredService<InferenceRecorder>());
        builder.Services.AddSingleton<InferenceQuota>();
        builder.Services.AddHostedService(services => services.GetRequiredService<InferenceQuota>());

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

            // Explicit stream subscriptions are kept in grain storage named PubSubStore.
            orleans.AddAdoNetGrainStorage("PubSubStore", options =>
            {
                options.Invariant = AdoNetInvariant;
                options.ConnectionString = postgreSql;
            });
            orleans.AddMemoryStreams(StreamProviderName);

            orleans.AddDashboard();
        });

        builder.Services.AddOptions<PartitionMaintenanceOptions>().BindConfiguration(PartitionMaintenanceOptions.SectionName);
        builder.Services.AddSingleton<PartitionMaintainer>();
        builder.Services.AddOptions<ArtifactSweepOptions>().BindConfiguration(ArtifactSweepOptions.SectionName);
        builder.Services.AddSingleton<ArtifactSweeper>();
        builder.Services.AddOptions<TrainingOptions>().BindConfiguration(TrainingOptions.SectionName);
        builder.Services.AddSingleton<BuiltInRun>();
        builder.Services.AddSingleton<OnnxModelCache>();
        builder.Services.AddSingleton<MicroBatcher>();
        builder.Services.AddSingleton<PredictionCache>();
        builder.Services.AddSingleton<BatchRun>();
        builder.Services.AddHostedService<MaintenanceStarter>();
        return builder;
    }

    /// <summary>Serves the Orleans Dashboard at <c>/dashboard</c>, to platform admins only.</summary>
    public static WebApplication MapPhantomDashboard(this WebApplication app)
    {
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/dashboard"),
            dashboard => dashboard.UseMiddleware<DashboardAuthenticationMiddleware>());
        app.MapOrleansDashboard(routePrefix: "/dashboard");
        return app;
    }
}
