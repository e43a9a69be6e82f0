using PhantomMl.Grains;
using Scalar.AspNetCore;

namespace PhantomMl.Silo.Extensions;

/// <summary>HTTP conventions: RFC 7807 ProblemDetails for every error, an OpenAPI document and a browsable reference.</summary>
public static class HttpApiExtensions
{
    /// <summary>The largest JSON request body; endpoints that stream files raise their own limit.</summary>
    public const long MaxJsonBodyBytes = 1 << 20;

    /// <summary>Registers ProblemDetails and OpenAPI, and makes malformed requests fail loudly.</summary>
    public static WebApplicationBuilder AddPhantomHttpApi(this WebApplicationBuilder builder)
    {
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = MaxJsonBodyBytes);
        // Unreadable JSON, wrong types and unknown members become 400 ProblemDetails saying what was wrong.
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
            // {"name": "a", "name": "b"} is ambiguous: refused rather than silently taking one of them.
            options.SerializerOptions.AllowDuplicateProperties = false;
            // A model's output can be NaN or infinite: written as "NaN"/"Infinity" rather than failing the answer.
            options.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals;
            options.SerializerOptions.Converters.Add(new NulFreeStringConverter());
        });
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            context.ProblemDetails.Extensions["traceId"] = context.HttpContext.TraceIdentifier;
            // Kestrel answers an over-long body itself; say what the limit is.
            if (context.ProblemDetails.Status == StatusCodes.Status413PayloadTooLarge && context.ProblemDetails.Detail is null)
            {
                context.ProblemDetails.Type = ProblemTypes.PayloadTooLarge;
                context.ProblemDetails.Detail = $"The request body is larger than the {MaxJsonBodyBytes / 1024} KiB this endpoint accepts.";
            }
        });
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        builder.Services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "Phantom ML Core API";
                document.Info.Description = "Multi-tenant ML platform core: cluster, registry, training, inference, agents, audit.";
                return Task.CompletedTask;
            });
            // The generator describes a type read by a custom converter as "anything": strings are strings all the same.
            options.AddSchemaTransformer((schema, context, _) =>
            {
                if (context.JsonTypeInfo.Type == typeof(string) && schema.Type is null)
                {
                    schema.Type = Microsoft.OpenApi.JsonSchemaType.String;
                    if (context.JsonPropertyInfo is { IsSetNullable: true })
                    {
                        schema.Type |= Microsoft.OpenApi.JsonSchemaType.Null;
                    }
                }

                return Task.CompletedTask;
            });
        });
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
