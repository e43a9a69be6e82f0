using PhantomMl.Silo.Apis;
using PhantomMl.Silo.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddPhantomDataStores();     // PostgreSQL (system of record), ClickHouse, Redis, schema migrations
builder.AddPhantomSilo();           // Orleans silo: ADO.NET clustering, storage and reminders, streams, dashboard
builder.AddPhantomTelemetry();      // structured logs and OpenTelemetry meters
builder.AddPhantomHealthChecks();   // /health/live and /health/ready
builder.AddPhantomHttpApi();        // ProblemDetails and OpenAPI

var app = builder.Build();

if (args.Contains("migrate"))
{
    return await app.MigrateAndExitAsync();
}

await app.MigrateOnStartupIfEnabledAsync();

app.UsePhantomErrorHandling();
app.MapPhantomHealthChecks();
app.MapPhantomApiReference();
app.MapClusterApi();
app.MapMaintenanceApi();
app.MapPhantomDashboard();

await app.RunAsync();
return 0;
