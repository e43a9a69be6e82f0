using PhantomMl.Grains.Inference;
using PhantomMl.Silo.Apis;

namespace PhantomMl.Silo.Extensions;

/// <summary>The Inference area: online and batch predictions, their recording and their quotas.</summary>
public static class InferenceExtensions
{
    /// <summary>
    /// Registers serving. Call it before the silo: queued inference records are written, and unused request quota given
    /// back, by hosted services that must stop after the silo's last request.
    /// </summary>
    public static WebApplicationBuilder AddPhantomInference(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<InferenceOptions>().BindConfiguration(InferenceOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<InferenceSql>();
        builder.Services.AddSingleton<InferenceMetricsTable>();
        builder.Services.AddSingleton<InferenceRecorder>();
        builder.Services.AddHostedService(services => services.GetRequiredService<InferenceRecorder>());
        builder.Services.AddSingleton<OnnxModelCache>();
        builder.Services.AddSingleton<MicroBatcher>();
        builder.Services.AddSingleton<PredictionCache>();
        builder.Services.AddSingleton<BatchRun>();
        // Concurrent HTTP predictions of one caller for one version share a grain call.
        builder.Services.AddSingleton<HttpPredictions>();
        return builder;
    }
}
