using PhantomMl.Silo.Apis;
using PhantomMl.Silo.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddPhantomDataStores();     // PostgreSQL (system of record), ClickHouse, Redis, schema migrations
builder.AddPhantomSilo();           // Orleans silo: ADO.NET clustering, storage and reminders, streams, dashboard
builder.AddPhantomSecurity();       // API keys authenticated by the grains, roles, the first platform admin
builder.AddPhantomArtifactStore();  // model artifacts in S3, or in a local folder on one machine
builder.AddPhantomTelemetry();      // structured logs and OpenTelemetry meters
builder.AddPhantomHealthChecks();   // /health/live and /health/ready
builder.AddPhantomHttpApi();        // ProblemDetails, request limits, OpenAPI

var app = builder.Build();

if (args.Contains("migrate"))
{
    return await app.MigrateAndExitAsync();
}

await app.MigrateOnStartupIfEnabledAsync();
await app.BootstrapPlatformAdminIfConfiguredAsync();

app.UsePhantomErrorHandling();
app.UsePhantomCallContext();
app.MapPhantomHealthChecks();
app.MapPhantomApiReference();
app.MapTenantsApi();
app.MapAuditApi();
app.MapModelsApi();
app.MapArtifactsApi();
app.MapTrainingApi();
app.MapInferenceApi();
app.MapClusterApi();
app.MapMaintenanceApi();
app.MapPhantomDashboard();

await app.RunAsync();
return 0;
