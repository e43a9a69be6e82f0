using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using PhantomMl.Grains.Diagnostics;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// Structured logs (JSON console outside Development, see appsettings.json) and OpenTelemetry metrics and
/// traces from Orleans, ASP.NET Core, the .NET runtime and the platform's own meter. They are exported over
/// OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and cost almost nothing when it is not.
/// </summary>
public static class TelemetryExtensions
{
    /// <summary>Wires OpenTelemetry once for the process.</summary>
    public static WebApplicationBuilder AddPhantomTelemetry(this WebApplicationBuilder builder)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("phantom-ml-silo"))
            .WithMetrics(metrics => metrics
                .AddMeter("Microsoft.Orleans")
                .AddMeter(PhantomInstruments.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation());

        // Traces only when they go somewhere: a listener makes every HTTP request and grain call build an activity,
        // which nobody reads without an exporter (measured: part of the HTTP front end's cost per request).
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry
                .WithTracing(tracing => tracing
                    .AddSource("Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application")
                    .AddAspNetCoreInstrumentation())
                .UseOtlpExporter();
        }

        return builder;
    }
}
