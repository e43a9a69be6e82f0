using Orleans.Concurrency;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Training;

/// <summary>
/// See <see cref="ITrackingCatalogGrain"/>. A search reads the searched projects' runs under the tenant's row-level
/// security, the latest metrics from ClickHouse when the filter or order needs them, and evaluates MLflow's grammar here;
/// pages are offsets into that order, as in MLflow's own store. A search over more than <see cref="MaxSearchedRuns"/>
/// runs is refused (400), never answered from part of them.
/// </summary>
[StatelessWorker]
public sealed class TrackingCatalogGrain(TenantDatabase database, TrackingSql trackingSql, TrainingMetricsTable metricsTable, AccessGuard guard)
    : Grain, ITrackingCatalogGrain
{
    /// <summary>Most runs one search reads.</summary>
    public const int MaxSearchedRuns = 100_000;

    /// <summary>Most runs or projects one page holds (MLflow's own limit for runs is 50,000).</summary>
    public const int MaxPageSize = 50_000;

    /// <summary>Most projects one run search names.</summary>
    public const int MaxSearchedProjects = 100;

    /// <summary>Most order_by clauses of one search.</summary>
    public const int MaxOrderClauses = 20;

    private static readonly IReadOnlySet<string> RunNumericAttributes = new HashSet<string> { "start_time", "end_time", "created" };
    private static readonly IReadOnlySet<string> RunStringAttributes = new HashSet<string>
    {
        "run_id", "run_name", "status", "user_id", "artifact_uri", "lifecycle_stage", "experiment_id",
    };

    private static readonly IReadOnlySet<string> ProjectNumericAttributes = new HashSet<string> { "creation_time", "last_update_time" };
    private static readonly IReadOnlySet<string> ProjectStringAttributes = new HashSet<string> { "name", "experiment_id", "lifecycle_stage" };

    /// <inheritdoc />
    public async Task<ProjectView> GetProjectByNameAsync(string name)
    {
        var tenantId = await AuthorizeAsync("get-by-name");
        var valid = TrackingValidation.ProjectName(name, "experiment_name");
        return await database.InTenantAsync(tenantId, async (_, transaction) =>
            await trackingSql.LoadProjectByNameAsync(transaction, valid) ?? throw PhantomException.NotFound("experiment", valid));
    }

    /// <inheritdoc />
    public async Task<ProjectPage> SearchProjectsAsync(ProjectSearch search)
    {
        var tenantId = await AuthorizeAsync("search");
        var valid = search ?? throw PhantomException.Invalid("Send the search.", "body");
        var viewType = ViewType(valid.ViewType);
        var (offset, size) = Page(valid.PageToken, valid.MaxResults);
        var filter = SearchFilter.Parse(valid.Filter, ProjectNumericAttributes, ProjectStringAttributes, allowMetricsAndParams: false);
        var order = Order(valid.OrderBy, ProjectNumericAttributes, ProjectStringAttributes, allowMetricsAndParams: false);
        var projects = await database.InTenantAsync(tenantId, (_, transaction) => trackingSql.ListProjectsAsync(transaction, viewType));
        var matching = projects.Where(project => filter.Matches((type, key) => ProjectValue(project, type, key)));
        // MLflow's default order: newest first, then by id.
        var sorted = Sort(matching, order, ProjectValue, ("attribute", "creation_time", true), project => project.Id);
        var page = sorted.Skip((int)offset).Take(size + 1).ToList();
        return new ProjectPage(page.Take(size).ToList(), page.Count > size ? PageTokens.Of(offset + size) : null);
    }

    /// <inheritdoc />
    public async Task<RunPage> SearchRunsAsync(RunSearch search)
    {
        var tenantId = await AuthorizeAsync("search-runs");
        var valid = search ?? throw PhantomException.Invalid("Send the search.", "body");
        if (valid.ProjectIds is null || valid.ProjectIds.Count is 0 or > MaxSearchedProjects)
        {
            throw PhantomException.Invalid($"Search the runs of 1 to {MaxSearchedProjects} experiments.", "experiment_ids");
        }

        var projectIds = valid.ProjectIds.Select(TrackingValidation.ProjectId).Distinct().ToList();
        var viewType = ViewType(valid.ViewType);
        var (offset, size) = Page(valid.PageToken, valid.MaxResults);
        var filter = SearchFilter.Parse(valid.Filter, RunNumericAttributes, RunStringAttributes);
        var order = Order(valid.OrderBy, RunNumericAttributes, RunStringAttributes, allowMetricsAndParams: true);
        var runs = await database.InTenantAsync(tenantId, async (_, transaction) =>
        {
            // MLflow answers an unknown experiment with an empty result, and so does this search (an id of another tenant's included).
            var count = await trackingSql.CountRunsAsync(transaction, projectIds, viewType);
            if (count > MaxSearchedRuns)
            {
                throw PhantomException.Invalid($"These experiments hold {count} runs in this view; a search reads at most {MaxSearchedRuns}. " +
                    "Search fewer experiments.", "experiment_ids");
            }

            return await trackingSql.ListRunsAsync(transaction, projectIds, viewType);
        });

        var needsMetrics = filter.ReadsMetrics || order.Any(clause => clause.Type == "metric");
        var metrics = needsMetrics ? await metricsTable.LatestOfJobsAsync(tenantId, runs.Select(run => run.Job.Id).ToList()) : null;
        // Each run's parameters are read from its JSON once, not once per clause and comparison.
        var candidates = runs.Select(run => new Candidate(new RunView(run.Job, run.ProjectId, run.Tags, run.Inputs, run.DeletedAt,
            metrics?.GetValueOrDefault(run.Job.Id) ?? (IReadOnlyList<LatestMetric>)[]), TrackedRuns.Params(run.Job))).ToList();
        var matching = candidates.Where(run => filter.Matches((type, key) => RunValue(run, type, key)));
        var sorted = Sort(matching, order, RunValue, ("attribute", "start_time", true), run => run.Run.Job.Id.ToString("N"));
        var page = sorted.Skip((int)offset).Take(size + 1).ToList();
        var answered = page.Take(size).Select(candidate => candidate.Run).ToList();
        if (!needsMetrics && answered.Count > 0)
        {
            // Metrics are part of each run answered: read for this page only.
            var latest = await metricsTable.LatestOfJobsAsync(tenantId, answered.Select(run => run.Job.Id).ToList());
            answered = answered.Select(run => run with { Metrics = latest[run.Job.Id] }).ToList();
        }

        return new RunPage(answered, page.Count > size ? PageTokens.Of(offset + size) : null);
    }

    /// <summary>A run's value for a filter or order clause: metrics as numbers, times as Unix milliseconds, the rest as strings.</summary>
    private static object? RunValue(Candidate candidate, string type, string key) => (candidate.Run, type) switch
    {
        (var run, "metric") => run.Metrics?.FirstOrDefault(metric => metric.Metric == key)?.Value,
        (_, "param") => candidate.Params.GetValueOrDefault(key),
        (var run, _) => RunAttribute(run, type, key),
    };

    private static object? RunAttribute(RunView run, string type, string key) => type switch
    {
        "tag" => key == "mlflow.runName" ? run.Job.JobName : run.Tags.GetValueOrDefault(key),
        _ => key switch
        {
            "run_id" => run.Job.Id.ToString("N"),
            "run_name" => run.Job.JobName,
            "status" => TrackedRuns.ToMlflowStatus(run.Job.Status),
            "user_id" => run.Job.CreatedBy,
            "artifact_uri" => TrackedRuns.ArtifactUri(run.ProjectId, run.Job.Id),
            "lifecycle_stage" => run.DeletedAt is null ? "active" : "deleted",
            "experiment_id" => run.ProjectId,
            "start_time" or "created" => (double?)run.Job.StartedAt?.ToUnixTimeMilliseconds(),
            "end_time" => (double?)run.Job.CompletedAt?.ToUnixTimeMilliseconds(),
            _ => null,
        },
    };

    private static object? ProjectValue(ProjectView project, string type, string key) => type switch
    {
        "tag" => project.Tags.GetValueOrDefault(key),
        _ => key switch
        {
            "name" => project.Name,
            "experiment_id" => project.Id,
            "lifecycle_stage" => project.DeletedAt is null ? "active" : "deleted",
            "creation_time" => (double)project.CreatedAt.ToUnixTimeMilliseconds(),
            "last_update_time" => (double)project.UpdatedAt.ToUnixTimeMilliseconds(),
            _ => null,
        },
    };

    /// <summary>
    /// Orders by the clauses, then by the default, then by id (a stable order, so offsets page it without gaps); an entity
    /// without a value for a clause comes after those with one, in either direction, as in MLflow.
    /// </summary>
    private static IEnumerable<T> Sort<T>(IEnumerable<T> items, IReadOnlyList<(string Type, string Key, bool Descending)> order,
        Func<T, string, string, object?> value, (string Type, string Key, bool Descending) fallback, Func<T, string> id)
    {
        var clauses = order.Append(fallback).ToList();
        var sorted = items.OrderBy(_ => 0);
        foreach (var (type, key, descending) in clauses)
        {
            sorted = sorted.ThenBy(item => value(item, type, key) is null ? 1 : 0);
            sorted = descending
                ? sorted.ThenByDescending(item => value(item, type, key), ValueComparer.Instance)
                : sorted.ThenBy(item => value(item, type, key), ValueComparer.Instance);
        }

        return sorted.ThenBy(id, StringComparer.Ordinal);
    }

    private static List<(string Type, string Key, bool Descending)> Order(IReadOnlyList<string>? clauses, IReadOnlySet<string> numericAttributes,
        IReadOnlySet<string> stringAttributes, bool allowMetricsAndParams) =>
        clauses is { Count: > MaxOrderClauses }
            ? throw PhantomException.Invalid($"order_by holds at most {MaxOrderClauses} clauses.", "order_by")
            : (clauses ?? []).Select(clause => SearchFilter.OrderClause(clause, numericAttributes, stringAttributes, allowMetricsAndParams)).ToList();

    private static string ViewType(string? viewType) => viewType is ViewTypes.Active or ViewTypes.Deleted or ViewTypes.All ? viewType
        : throw PhantomException.Invalid("view type is active, deleted or all.", "run_view_type");

    private static (long Offset, int Size) Page(string? token, int maxResults)
    {
        if (maxResults is < 1 or > MaxPageSize)
        {
            throw PhantomException.Invalid($"max_results is 1 to {MaxPageSize}.", "max_results");
        }

        var offset = string.IsNullOrEmpty(token) ? 0 : PageTokens.Offset(token);
        return offset <= MaxSearchedRuns ? (offset, maxResults) : throw PhantomException.Invalid("page_token is not a token this search gave.", "page_token");
    }

    private async Task<Guid> AuthorizeAsync(string action) =>
        (await guard.AuthorizeAsync(this.GetPrimaryKeyString(), Permissions.TrainingRead, new AuditEvent("data_access", "training_project", "*", action)))
        .TenantId;

    /// <summary>A run searched, with its parameters read.</summary>
    private sealed record Candidate(RunView Run, IReadOnlyDictionary<string, string> Params);

    /// <summary>Numbers compare as numbers, strings ordinally; nulls are placed by the caller.</summary>
    private sealed class ValueComparer : IComparer<object?>
    {
        public static readonly ValueComparer Instance = new();

        public int Compare(object? x, object? y) => (x, y) switch
        {
            (double a, double b) => a.CompareTo(b),
            (string a, string b) => string.CompareOrdinal(a, b),
            (null, null) => 0,
            (null, _) => 1,
            (_, null) => -1,
            _ => 0,
        };
    }
}
