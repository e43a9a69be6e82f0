using PhantomMl.Grains.Maintenance;

namespace PhantomMl.Silo.Extensions;

/// <summary>The cluster's maintenance: time partitions and the sweep of orphaned artifacts, each a single grain woken by a reminder.</summary>
public static class MaintenanceExtensions
{
    /// <summary>Registers maintenance, and makes sure its reminders exist once the silo is up.</summary>
    public static WebApplicationBuilder AddPhantomMaintenance(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<PartitionMaintenanceOptions>().BindConfiguration(PartitionMaintenanceOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ArtifactSweepOptions>().BindConfiguration(ArtifactSweepOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<MaintenanceSql>();
        builder.Services.AddSingleton<PartitionMaintainer>();
        builder.Services.AddSingleton<ArtifactSweeper>();
        builder.Services.AddHostedService<MaintenanceStarter>();
        return builder;
    }
}
