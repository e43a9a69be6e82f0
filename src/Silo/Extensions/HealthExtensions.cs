using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using PhantomMl.Silo.Health;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// <c>/health/live</c>: the process serves HTTP. <c>/health/ready</c>: PostgreSQL, Redis and ClickHouse
/// answer, every schema is current and the silo is an active cluster member; 503 otherwise, naming the cause.
/// </summary>
public static class HealthExtensions
{
    private const string ReadyTag = "ready";
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Registers the readiness checks.</summary>
    public static WebApplicationBuilder AddPhantomHealthChecks(this WebApplicationBuilder builder)
    {
        string[] ready = [ReadyTag];
        builder.Services.AddHealthChecks()
            .AddCheck<PostgreSqlHealthCheck>("postgresql", tags: ready, timeout: CheckTimeout)
            .AddCheck<RedisHealthCheck>("redis", tags: ready, timeout: CheckTimeout)
            .AddCheck<ClickHouseHealthCheck>("clickhouse", tags: ready, timeout: CheckTimeout)
            .AddCheck<SchemaHealthCheck>("schema", tags: ready, timeout: CheckTimeout)
            .AddCheck<SiloHealthCheck>("silo", tags: ready, timeout: CheckTimeout);
        return builder;
    }

    /// <summary>Maps the two health endpoints.</summary>
    public static WebApplication MapPhantomHealthChecks(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteJsonAsync })
            .WithTags("Health");
        app.MapHealthChecks("/health/ready",
            new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag), ResponseWriter = WriteJsonAsync })
            .WithTags("Health");
        return app;
    }

    private static Task WriteJsonAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            durationMs = Math.Round(report.TotalDuration.TotalMilliseconds, 1),
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new
                {
                    status = entry.Value.Status.ToString(),
                    description = entry.Value.Description ?? entry.Value.Exception?.Message,
                    durationMs = Math.Round(entry.Value.Duration.TotalMilliseconds, 1),
                }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, cancellationToken: context.RequestAborted);
    }
}
