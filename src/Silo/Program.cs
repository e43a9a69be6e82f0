using PhantomMl.Silo.Apis;
using PhantomMl.Silo.Apis.Mlflow;
using PhantomMl.Silo.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddPhantomDataStores();     // PostgreSQL (system of record), ClickHouse, Redis, schema migrations
builder.AddPhantomSecurity();       // API keys authenticated by the grains, the cluster secret, the first platform admin
builder.AddPhantomAudit();          // the append-only trail of every change and every refused attempt, data lineage
builder.AddPhantomCompliance();     // compliance reports per framework, GDPR access and erasure
builder.AddPhantomTenants();        // tenants, users, API keys, quotas
builder.AddPhantomModels();         // the registry, its Redis cache, artifacts in S3 or a local folder
builder.AddPhantomTraining();       // jobs, the built-in trainer, metrics into ClickHouse
builder.AddPhantomMlflow();         // the MLflow-compatible API: experiments, runs, registry, artifact proxy
builder.AddPhantomInference();      // online and batch predictions, their recording
builder.AddPhantomAgents();         // agents, durable executions, workflows, execution logs
builder.AddPhantomMaintenance();    // time partitions, the orphaned-artifact sweep
builder.AddPhantomAnalytics();      // each silo's resource samples into ClickHouse and Redis
builder.AddPhantomSilo();           // Orleans silo, after the areas so that it stops before their background services
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

app.UsePhantomServiceMetrics();
app.UsePhantomErrorHandling();
app.UsePhantomCallContext();
app.MapPhantomHealthChecks();
app.MapPhantomApiReference();
app.MapTenantsApi();
app.MapAuditApi();
app.MapLineageApi();
app.MapComplianceApi();
app.MapModelsApi();
app.MapArtifactsApi();
app.MapTrainingApi();
app.MapMlflowApi();
app.MapInferenceApi();
app.MapAgentsApi();
app.MapAnalyticsApi();
app.MapClusterApi();
app.MapMaintenanceApi();
app.MapPhantomDashboard();
app.MapPhantomWebDashboard();

await app.RunAsync();
return 0;
