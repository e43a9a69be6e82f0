using Scalar.AspNetCore;

namespace PhantomMl.Silo.Extensions;

/// <summary>HTTP conventions: RFC 7807 ProblemDetails for every error, an OpenAPI document and a browsable reference.</summary>
public static class HttpApiExtensions
{
    /// <summary>Registers ProblemDetails and OpenAPI.</summary>
    public static WebApplicationBuilder AddPhantomHttpApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
            context.ProblemDetails.Extensions["traceId"] = context.HttpContext.TraceIdentifier);
        builder.Services.AddExceptionHandler<ClusterUnavailableExceptionHandler>();
        builder.Services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Phantom ML Core API";
            document.Info.Description = "Multi-tenant ML platform core: cluster, registry, training, inference, agents, audit.";
            return Task.CompletedTask;
        }));
        return builder;
    }

    /// <summary>Turns unhandled exceptions and bare status codes (404, 405, ...) into ProblemDetails.</summary>
    public static WebApplication UsePhantomErrorHandling(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }

    /// <summary>The OpenAPI document at <c>/openapi/v1.json</c> and its reference UI at <c>/docs</c>.</summary>
    public static WebApplication MapPhantomApiReference(this WebApplication app)
    {
        app.MapOpenApi();
        app.MapScalarApiReference("/docs", options => options.WithTitle("Phantom ML Core API"));
        return app;
    }
}
