namespace PhantomMl.Bench;

/// <summary>What the benchmark runs against and how hard; everything from the environment scripts/bench.sh sets.</summary>
public sealed record BenchSettings(
    string AppConnectionString,
    string OwnerConnectionString,
    string Redis,
    string ClusterId,
    string AdminKey,
    string HttpBase,
    int Writers,
    TimeSpan Duration,
    int Tenants,
    int ModelsPerTenant,
    int Searches,
    string ClickHouse,
    int MetricPoints,
    string RepositoryRoot,
    string Gateway,
    int AgentExecutions,
    int AgentWaiting,
    int AuditRows,
    int AuditTenants,
    string? SecondGateway,
    bool SecondSiloHasMetrics,
    int FirstSiloPid,
    int SecondSiloPid)
{
    public static BenchSettings FromEnvironment() => new(
        Require("ConnectionStrings__PostgreSql"),
        Require("ConnectionStrings__PostgreSqlMigrations"),
        Require("ConnectionStrings__Redis"),
        Require("PHANTOM_BENCH_CLUSTER"),
        File.ReadAllText(Require("PHANTOM_BENCH_ADMIN_KEY_FILE")).Trim(),
        Require("PHANTOM_BENCH_HTTP"),
        Int("PHANTOM_BENCH_WRITERS", 64),
        TimeSpan.FromSeconds(Int("PHANTOM_BENCH_SECONDS", 10)),
        Int("PHANTOM_BENCH_TENANTS", 100),
        Int("PHANTOM_BENCH_MODELS_PER_TENANT", 1000),
        Int("PHANTOM_BENCH_SEARCHES", 400),
        Require("ConnectionStrings__ClickHouse"),
        Int("PHANTOM_BENCH_METRIC_POINTS", 4_000_000),
        Require("PHANTOM_REPO_ROOT"),
        Require("PHANTOM_BENCH_GATEWAY"),
        Int("PHANTOM_BENCH_AGENT_EXECUTIONS", 10_000),
        Int("PHANTOM_BENCH_AGENT_WAITING", 10_000),
        Int("PHANTOM_BENCH_AUDIT_ROWS", 1_000_000),
        Int("PHANTOM_BENCH_AUDIT_TENANTS", 100),
        Environment.GetEnvironmentVariable("PHANTOM_BENCH_SECOND_GATEWAY") is { Length: > 0 } second ? second : null,
        Environment.GetEnvironmentVariable("PHANTOM_BENCH_SECOND_HAS_METRICS") == "true",
        Int("PHANTOM_BENCH_FIRST_SILO_PID", 0),
        Int("PHANTOM_BENCH_SECOND_SILO_PID", 0));

    private static string Require(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : throw new InvalidOperationException($"{name} is not set: run scripts/bench.sh");

    private static int Int(string name, int fallback) => int.TryParse(Environment.GetEnvironmentVariable(name), out var value) ? value : fallback;
}
