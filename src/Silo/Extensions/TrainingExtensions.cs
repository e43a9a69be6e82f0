using PhantomMl.Grains.Training;

namespace PhantomMl.Silo.Extensions;

/// <summary>The Training area: jobs, the built-in trainer, and metrics into ClickHouse.</summary>
public static class TrainingExtensions
{
    /// <summary>
    /// Registers training. Call it before the silo: the metrics buffer is a hosted service that must stop after the
    /// silo (grain calls drain first, then waiting metrics flush).
    /// </summary>
    public static WebApplicationBuilder AddPhantomTraining(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<TrainingOptions>().BindConfiguration(TrainingOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<MetricsBufferOptions>().BindConfiguration(MetricsBufferOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<TrainingSql>();
        builder.Services.AddSingleton<TrackingSql>();
        builder.Services.AddSingleton<TrainingMetricsTable>();
        builder.Services.AddSingleton<MetricsBuffer>();
        builder.Services.AddHostedService(services => services.GetRequiredService<MetricsBuffer>());
        builder.Services.AddSingleton<BuiltInRun>();
        return builder;
    }
}
