// Benchmarks, run by scripts/bench.sh [registry|updates|training|mlflow|inference|agents|audit|analytics] against a silo on a fresh
// database (default: all):
//  1. (registry, updates) 64 concurrent writers doing read-modify-write on one model, then on 64 models: the grain design
//     (serialised by the model's activation, group committed) against the design document's own approach (Redis lock +
//     SELECT ... FOR UPDATE), implemented faithfully here only as the baseline.
//  2. (registry) Registry search latency with 100,000 models across 100 tenants, and the plan of the list query.
//  0. (inference) Single-row predictions: raw ONNX Runtime against the SDK and HTTP paths at concurrency 1 and 64.
//  7. (floor) An authenticated no-op SDK call against a bare Orleans grain call (a silo in this process), at 1 and 64.
//  4. (agents) 10,000 noop executions at once against the bare SQL of their durable moves, and memory per waiting execution.
//  3. (training) Metric ingestion SDK -> cluster -> ClickHouse against raw ClickHouse.Driver inserts, and the
//     latency of downsampled history queries.
//  8. (mlflow) The MLflow-compatible API over HTTP: log-batch of 1,000 metrics from 8 clients against raw inserts of the
//     same rows, and get-history of a 100,000-point metric against a raw read of the same rows.
//  6. (analytics) Service metrics collection on vs off (two silos), and the dashboard's job page with a 1,000,000-point curve.
//  5. (audit) 1,000,000 audit rows across 100 tenants: sealing, search p50/p95, chain verification rate, and audited
//     changes with the chain's queue trigger off and on.
using PhantomMl.Bench;

var settings = BenchSettings.FromEnvironment();
var only = args.FirstOrDefault();
await using var platform = await BenchPlatform.ConnectAsync(settings);

if (only is null or "inference")
{
    Console.WriteLine("== Online predictions, one row per request");
    await InferenceThroughput.RunAsync(platform, settings);
    Console.WriteLine();
}

if (only is null or "floor")
{
    Console.WriteLine("== Grain-call floor: an authenticated SDK call that does no work against a bare Orleans call");
    await CallFloor.RunAsync(platform, settings);
    Console.WriteLine();
}

if (only is null or "analytics")
{
    Console.WriteLine("== Analytics: the cost of collecting service metrics, and the dashboard with a 1,000,000-point curve");
    await AnalyticsCost.RunAsync(platform, settings);
    Console.WriteLine();
}

if (only is null or "agents")
{
    Console.WriteLine($"== Agent executions: {settings.AgentExecutions:N0} noop executions at once");
    await AgentExecutions.RunAsync(platform, settings);
    Console.WriteLine();
}

if (only is null or "audit")
{
    Console.WriteLine($"== Audit trail: {settings.AuditRows:N0} rows across {settings.AuditTenants} tenants");
    await AuditTrail.RunAsync(platform, settings);
    Console.WriteLine();
}

if (only is null or "mlflow")
{
    Console.WriteLine("== MLflow-compatible API: log-batch from 8 clients, get-history of a 100,000-point metric");
    await MlflowTracking.RunAsync(platform, settings);
    Console.WriteLine();
}

if (only is null or "training")
{
    Console.WriteLine($"== Metric ingestion: {settings.MetricPoints:N0} points each way");
    await MetricsIngestion.RunAsync(platform, settings);
    Console.WriteLine();
}

if (only is not (null or "registry" or "updates"))
{
    return;
}

// PHANTOM_BENCH_UPDATE_MODELS picks one of the two runs (1 or the writer count); both by default.
foreach (var models in new[] { 1, settings.Writers }.Distinct().Where(m => Environment.GetEnvironmentVariable("PHANTOM_BENCH_UPDATE_MODELS") is not { Length: > 0 } only
             || only == m.ToString()))
{
    Console.WriteLine($"== Concurrent updates of {(models == 1 ? "one model" : $"{models} models")}: {settings.Writers} writers for {settings.Duration.TotalSeconds:F0} s each way");
    var grain = await ContendedUpdates.RunGrainAsync(platform, settings, models);
    var baseline = await ContendedUpdates.RunLockBaselineAsync(platform, settings, models);
    // The grain writes an audit row per update and the design's lock path does not; the same lock path with the same
    // audit row shows how much of the difference is that row's cost in PostgreSQL.
    var audited = await ContendedUpdates.RunLockBaselineAsync(platform, settings, models, withAuditRow: true);
    grain.Print("grain (group commit, one activation)");
    baseline.Print("baseline (Redis lock + FOR UPDATE)");
    audited.Print("baseline + the same audit row");
    Console.WriteLine($"ratio grain/baseline updates/s: {grain.PerSecond / baseline.PerSecond:F2}; " +
                      $"grain/baseline with audit row: {grain.PerSecond / audited.PerSecond:F2}");
    Console.WriteLine();
}

if (only is "updates")
{
    return;
}

Console.WriteLine();
Console.WriteLine($"== Search with {settings.Tenants * settings.ModelsPerTenant:N0} models across {settings.Tenants} tenants");
await RegistrySearch.RunAsync(platform, settings);
