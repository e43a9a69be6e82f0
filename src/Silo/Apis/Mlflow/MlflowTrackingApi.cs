using System.Text.Json;
using PhantomMl.Grains;
using PhantomMl.Grains.Training;

namespace PhantomMl.Silo.Apis.Mlflow;

/// <summary>
/// MLflow's tracking API under <c>/api/2.0/mlflow</c> (and <c>/ajax-api/2.0/mlflow</c>): experiments are projects of
/// training jobs, runs are external training jobs, metrics go to ClickHouse through the training metrics pipeline.
/// docs/mlflow.md has the mapping.
/// </summary>
public static class MlflowTrackingApi
{
    /// <summary>Most metrics one log-batch carries (MLflow's own limit is 1,000); the tenant's metric_points_per_request applies too.</summary>
    public const int MaxBatchMetrics = 100_000;

    /// <summary>Most params one log-batch carries (MLflow's limit).</summary>
    public const int MaxBatchParams = 100;

    /// <summary>Most tags one log-batch carries (MLflow's limit).</summary>
    public const int MaxBatchTags = 100;

    /// <summary>The largest log-batch body: 100,000 metrics of about 100 bytes each.</summary>
    public const long MaxBatchBodyBytes = 16L << 20;

    /// <summary>Points per get-history page when the client names no max_results (MLflow's clients ask for 25,000).</summary>
    public const int DefaultHistoryPage = 25_000;

    /// <summary>Maps the tracking endpoints under one MLflow prefix.</summary>
    public static RouteGroupBuilder MapMlflowTracking(this RouteGroupBuilder mlflow)
    {
        mlflow.MapPost("/experiments/create", CreateExperimentAsync);
        mlflow.MapGet("/experiments/get", GetExperimentAsync);
        mlflow.MapGet("/experiments/get-by-name", GetExperimentByNameAsync);
        mlflow.MapMethods("/experiments/search", ["GET", "POST"], SearchExperimentsAsync);
        mlflow.MapPost("/experiments/update", UpdateExperimentAsync);
        mlflow.MapPost("/experiments/delete", (HttpContext http, IGrainFactory grains, MlflowTenants tenants) =>
            SetExperimentDeletedAsync(http, grains, tenants, deleted: true));
        mlflow.MapPost("/experiments/restore", (HttpContext http, IGrainFactory grains, MlflowTenants tenants) =>
            SetExperimentDeletedAsync(http, grains, tenants, deleted: false));
        mlflow.MapPost("/experiments/set-experiment-tag", SetExperimentTagAsync);

        mlflow.MapPost("/runs/create", CreateRunAsync);
        mlflow.MapGet("/runs/get", GetRunAsync);
        mlflow.MapPost("/runs/update", UpdateRunAsync);
        mlflow.MapPost("/runs/delete", (HttpContext http, IGrainFactory grains, MlflowTenants tenants) =>
            SetRunDeletedAsync(http, grains, tenants, deleted: true));
        mlflow.MapPost("/runs/restore", (HttpContext http, IGrainFactory grains, MlflowTenants tenants) =>
            SetRunDeletedAsync(http, grains, tenants, deleted: false));
        mlflow.MapPost("/runs/search", SearchRunsAsync);
        mlflow.MapPost("/runs/log-metric", LogMetricAsync);
        mlflow.MapPost("/runs/log-batch", LogBatchAsync);
        mlflow.MapPost("/runs/log-parameter", LogParameterAsync);
        mlflow.MapPost("/runs/set-tag", SetTagAsync);
        mlflow.MapPost("/runs/delete-tag", DeleteTagAsync);
        mlflow.MapPost("/runs/log-inputs", LogInputsAsync);

        mlflow.MapGet("/metrics/get-history", GetHistoryAsync);
        mlflow.MapGet("/metrics/get-history-bulk-interval", GetHistoryBulkIntervalAsync);
        mlflow.MapGet("/artifacts/list", ListArtifactsAsync);
        return mlflow;
    }

    private static async Task<IResult> CreateExperimentAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var tenantKey = await tenants.OfAsync(http);
        var location = args.OptionalString("artifact_location");
        var project = await grains.TrainingProject(tenantKey, Guid.CreateVersion7().ToString("N"))
            .CreateAsync(args.String("name"), string.IsNullOrEmpty(location) ? null : location, args.KeyValues("tags"));
        return MlflowJson.Ok(new Dictionary<string, object> { ["experiment_id"] = project.Id });
    }

    private static async Task<IResult> GetExperimentAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var project = await Project(grains, await tenants.OfAsync(http), args.String("experiment_id")).GetAsync();
        return MlflowJson.Ok(new Dictionary<string, object> { ["experiment"] = MlflowJson.Experiment(project) });
    }

    private static async Task<IResult> GetExperimentByNameAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var tenantKey = await tenants.OfAsync(http);
        var name = args.String("experiment_name");
        var project = name == TrainingProjectGrain.DefaultName
            // The Default experiment exists for every tenant from its first use, as on an MLflow server.
            ? await TryDefaultAsync(grains, tenantKey) ?? await grains.TrackingCatalog(tenantKey).GetProjectByNameAsync(name)
            : await grains.TrackingCatalog(tenantKey).GetProjectByNameAsync(name);
        return MlflowJson.Ok(new Dictionary<string, object> { ["experiment"] = MlflowJson.Experiment(project) });
    }

    private static async Task<ProjectView?> TryDefaultAsync(IGrainFactory grains, string tenantKey)
    {
        var project = await grains.TrainingProject(tenantKey, "0").GetAsync();
        return project.Name == TrainingProjectGrain.DefaultName ? project : null;
    }

    private static async Task<IResult> SearchExperimentsAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var tenantKey = await tenants.OfAsync(http);
        // Every tenant sees its Default experiment, as every MLflow server has one.
        await grains.TrainingProject(tenantKey, "0").GetAsync();
        var page = await grains.TrackingCatalog(tenantKey).SearchProjectsAsync(new ProjectSearch(args.OptionalString("filter"),
            ViewType(args.OptionalString("view_type")), args.Strings("order_by"), args.Int("max_results", 1000, 1, 50_000), args.OptionalString("page_token")));
        return MlflowJson.Ok(new MlflowJson.Fields
        {
            ["experiments"] = page.Projects.Select(MlflowJson.Experiment).ToList(),
            ["next_page_token"] = page.NextPageToken,
        });
    }

    private static async Task<IResult> UpdateExperimentAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var project = Project(grains, await tenants.OfAsync(http), args.String("experiment_id"));
        if (args.OptionalString("new_name") is { } newName)
        {
            await project.RenameAsync(newName);
        }
        else
        {
            await project.GetAsync();
        }

        return MlflowJson.Empty();
    }

    private static async Task<IResult> SetExperimentDeletedAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants, bool deleted)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        await Project(grains, await tenants.OfAsync(http), args.String("experiment_id")).SetDeletedAsync(deleted);
        return MlflowJson.Empty();
    }

    private static async Task<IResult> SetExperimentTagAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        await Project(grains, await tenants.OfAsync(http), args.String("experiment_id")).SetTagAsync(args.String("key"),
            args.OptionalString("value") ?? "");
        return MlflowJson.Empty();
    }

    private static async Task<IResult> CreateRunAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var tenantKey = await tenants.OfAsync(http);
        var tags = args.KeyValues("tags");
        // MLflow's clients send the run's name as run_name, the mlflow.runName tag, or both; the platform keeps it as the job's name.
        var runName = args.OptionalString("run_name") is { Length: > 0 } name ? name : tags.GetValueOrDefault("mlflow.runName");
        tags.Remove("mlflow.runName");
        var startTime = args.Long("start_time") is { } ms ? FromUnixMs(ms, "start_time") : (DateTimeOffset?)null;
        var run = await grains.TrainingJob(tenantKey, Guid.CreateVersion7())
            .StartRunAsync(new StartRun(args.OptionalString("experiment_id") is { Length: > 0 } id ? id : "0", runName, startTime, tags));
        return MlflowJson.Ok(new Dictionary<string, object> { ["run"] = MlflowJson.Run(run) });
    }

    private static async Task<IResult> GetRunAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var run = await Run(grains, await tenants.OfAsync(http), args.String("run_id", "run_uuid")).GetRunAsync();
        return MlflowJson.Ok(new Dictionary<string, object> { ["run"] = MlflowJson.Run(run) });
    }

    private static async Task<IResult> UpdateRunAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var job = Run(grains, await tenants.OfAsync(http), args.String("run_id", "run_uuid"));
        var status = args.OptionalString("status") is { } mlflowStatus
            ? TrackedRuns.FromMlflowStatus(mlflowStatus) ?? throw PhantomException.Invalid(
                $"Invalid status '{mlflowStatus}': a client sets RUNNING, FINISHED, FAILED or KILLED.", "status")
            : null;
        var endTime = args.Long("end_time") is { } ms ? FromUnixMs(ms, "end_time") : (DateTimeOffset?)null;
        var run = await job.UpdateRunAsync(status, args.OptionalString("run_name") is { Length: > 0 } name ? name : null, endTime);
        return MlflowJson.Ok(new Dictionary<string, object> { ["run_info"] = MlflowJson.RunInfo(run) });
    }

    private static async Task<IResult> SetRunDeletedAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants, bool deleted)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        await Run(grains, await tenants.OfAsync(http), args.String("run_id", "run_uuid")).SetRunDeletedAsync(deleted);
        return MlflowJson.Empty();
    }

    private static async Task<IResult> SearchRunsAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var tenantKey = await tenants.OfAsync(http);
        var page = await grains.TrackingCatalog(tenantKey).SearchRunsAsync(new RunSearch(args.Strings("experiment_ids"), args.OptionalString("filter"),
            ViewType(args.OptionalString("run_view_type")), args.Strings("order_by"), args.Int("max_results", 1000, 1, 50_000),
            args.OptionalString("page_token")));
        return MlflowJson.Ok(new MlflowJson.Fields
        {
            ["runs"] = page.Runs.Count == 0 ? null : page.Runs.Select(MlflowJson.Run).ToList(),
            ["next_page_token"] = page.NextPageToken,
        });
    }

    private static async Task<IResult> LogMetricAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var tenantKey = await tenants.OfAsync(http);
        var runId = RunId(args.String("run_id", "run_uuid"));
        var batch = new MetricBatchBuilder(1);
        batch.Add(TrackingValidation.Key(args.String("key"), "metric key"), args.Double("value"), args.Long("step") ?? 0, args.Long("timestamp") ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await grains.TrainingMetrics().LogAsync(tenantKey, runId, batch.Build(BatchId(http), allowNonFinite: true));
        return MlflowJson.Empty();
    }

    /// <summary>
    /// MLflow's log-batch: params, then tags, then metrics, each part applied whole or refused whole (as MLflow's SQL store
    /// does). A retry with the same Idempotency-Key stores its metric points once.
    /// </summary>
    private static async Task<IResult> LogBatchAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http, MaxBatchBodyBytes);
        var tenantKey = await tenants.OfAsync(http);
        var runId = RunId(args.String("run_id", "run_uuid"));
        var metrics = args.Objects("metrics");
        var parameters = args.KeyValues("params");
        var tags = args.KeyValues("tags");
        if (metrics.Count > MaxBatchMetrics || parameters.Count > MaxBatchParams || tags.Count > MaxBatchTags)
        {
            throw PhantomException.Invalid($"A batch holds at most {MaxBatchMetrics} metrics, {MaxBatchParams} params and {MaxBatchTags} tags.",
                "metrics");
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var batch = new MetricBatchBuilder(metrics.Count);
        var checkedKeys = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < metrics.Count; i++)
        {
            var metric = metrics[i];
            var field = $"metrics[{i}]";
            var key = MlflowArgs.StringOf(metric, "key", field);
            if (key is null || !checkedKeys.Contains(key))
            {
                checkedKeys.Add(TrackingValidation.Key(key, $"{field}.key"));
            }

            batch.Add(key!,
                MlflowArgs.DoubleOf(metric, "value", field), MlflowArgs.LongOf(metric, "step", field) ?? 0,
                MlflowArgs.LongOf(metric, "timestamp", field) ?? now);
        }

        var job = grains.TrainingJob(tenantKey, runId);
        if (parameters.Count > 0)
        {
            MlflowCalls.Part(http, "params");
            await LogParamsAsync(job, parameters);
        }

        if (tags.Count > 0)
        {
            MlflowCalls.Part(http, "tags");
            await job.TagRunAsync(WithoutRunName(tags, out var runName), []);
            if (runName is not null)
            {
                MlflowCalls.Part(http, "run-name");
                await job.UpdateRunAsync(null, runName, null);
            }
        }

        if (metrics.Count > 0)
        {
            await grains.TrainingMetrics().LogAsync(tenantKey, runId, batch.Build(BatchId(http), allowNonFinite: true));
        }
        else if (parameters.Count == 0 && tags.Count == 0)
        {
            // Nothing to log: still an answer about the run (404 for another tenant's).
            await job.GetRunAsync();
        }

        return MlflowJson.Empty();
    }

    private static async Task<IResult> LogParameterAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var job = Run(grains, await tenants.OfAsync(http), args.String("run_id", "run_uuid"));
        await LogParamsAsync(job, new Dictionary<string, string> { [args.String("key")] = args.OptionalString("value") ?? "" });
        return MlflowJson.Empty();
    }

    private static async Task<IResult> SetTagAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var job = Run(grains, await tenants.OfAsync(http), args.String("run_id", "run_uuid"));
        var tags = WithoutRunName(new Dictionary<string, string> { [args.String("key")] = args.OptionalString("value") ?? "" }, out var runName);
        if (runName is not null)
        {
            await job.UpdateRunAsync(null, runName, null);
        }
        else
        {
            await job.TagRunAsync(tags, []);
        }

        return MlflowJson.Empty();
    }

    private static async Task<IResult> DeleteTagAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var job = Run(grains, await tenants.OfAsync(http), args.String("run_id", "run_uuid"));
        await job.TagRunAsync(new Dictionary<string, string>(), [args.String("key")]);
        return MlflowJson.Empty();
    }

    private static async Task<IResult> LogInputsAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var job = Run(grains, await tenants.OfAsync(http), args.String("run_id", "run_uuid"));
        var datasets = args.Objects("datasets");
        if (datasets.Count == 0)
        {
            await job.GetRunAsync();
            return MlflowJson.Empty();
        }

        await job.LogRunInputsAsync(JsonSerializer.Serialize(datasets));
        return MlflowJson.Empty();
    }

    private static async Task<IResult> GetHistoryAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var tenantKey = await tenants.OfAsync(http);
        var runId = RunId(args.String("run_id", "run_uuid"));
        var key = args.String("metric_key");
        var offset = args.OptionalString("page_token") is { Length: > 0 } token ? PageTokens.Offset(token) : 0;
        var page = await grains.TrainingMetrics().PointsAsync(tenantKey, runId, key, offset,
            args.Int("max_results", DefaultHistoryPage, 1, TrainingMetricsGrain.MaxPointsPerPage));
        return new MetricHistoryResult(key, page);
    }

    private static async Task<IResult> GetHistoryBulkIntervalAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var tenantKey = await tenants.OfAsync(http);
        var runIds = args.Strings("run_ids");
        if (runIds.Count is 0 or > 100)
        {
            throw PhantomException.Invalid("run_ids names 1 to 100 runs.", "run_ids");
        }

        var key = args.String("metric_key");
        var maxResults = args.Int("max_results", 2500, 1, 2500);
        var (start, end) = (args.Long("start_step"), args.Long("end_step"));
        var metrics = new List<MlflowJson.Fields>();
        foreach (var runId in runIds.Distinct())
        {
            var points = await grains.TrainingMetrics().SampledPointsAsync(tenantKey, RunId(runId), key, start, end, maxResults);
            metrics.AddRange(points.Select(point =>
            {
                var metric = MlflowJson.Metric(key, point.Value, point.TimestampMs, point.Step);
                metric["run_id"] = runId;
                return metric;
            }));
        }

        return MlflowJson.Ok(new Dictionary<string, object> { ["metrics"] = metrics });
    }

    private static async Task<IResult> ListArtifactsAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var tenantKey = await tenants.OfAsync(http);
        var job = Run(grains, tenantKey, args.String("run_id", "run_uuid"));
        var run = await job.GetRunAsync();
        var directory = args.OptionalString("path") ?? "";
        var files = await job.ListRunArtifactsAsync(directory);
        return MlflowJson.Ok(new MlflowJson.Fields
        {
            ["root_uri"] = TrackedRuns.ArtifactUri(run.ProjectId, run.Job.Id),
            ["files"] = MlflowArtifactsApi.Listing(files, directory, relative: false),
        });
    }

    private static async Task LogParamsAsync(ITrainingJobGrain job, IReadOnlyDictionary<string, string> parameters)
    {
        foreach (var key in parameters.Keys)
        {
            TrackingValidation.Key(key, "param key");
        }

        // Another tenant's run is 404 in the grain; a job of the v1 API takes parameters the same way through either API.
        await job.LogParamsAsync(parameters);
    }

    private static Dictionary<string, string> WithoutRunName(Dictionary<string, string> tags, out string? runName)
    {
        runName = tags.Remove("mlflow.runName", out var name) ? name : null;
        return tags;
    }

    private static ITrainingProjectGrain Project(IGrainFactory grains, string tenantKey, string experimentId) =>
        grains.TrainingProject(tenantKey, TrackingValidation.ProjectId(experimentId));

    private static ITrainingJobGrain Run(IGrainFactory grains, string tenantKey, string runId) => grains.TrainingJob(tenantKey, RunId(runId));

    /// <summary>A run id: 32 hex digits (MLflow's form; a UUID with dashes is read too). Anything else names no run (404).</summary>
    public static Guid RunId(string runId) =>
        Guid.TryParseExact(runId, "N", out var id) || Guid.TryParseExact(runId, "D", out id) ? id : throw PhantomException.NotFound("run", runId);

    private static string ViewType(string? viewType) => viewType switch
    {
        null or "" or "ACTIVE_ONLY" or "1" => ViewTypes.Active,
        "DELETED_ONLY" or "2" => ViewTypes.Deleted,
        "ALL" or "3" => ViewTypes.All,
        _ => throw PhantomException.Invalid($"Invalid view type '{viewType}': ACTIVE_ONLY, DELETED_ONLY or ALL.", "view_type"),
    };

    private static DateTimeOffset FromUnixMs(long ms, string field) => ms is >= 0 and <= 7_258_118_400_000
        ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
        : throw PhantomException.Invalid($"{field} is a time in Unix milliseconds.", field);

    /// <summary>The metric batch's id: the caller's Idempotency-Key (a retry lands once), else a fresh one.</summary>
    private static string BatchId(HttpContext http) =>
        http.Request.Headers["Idempotency-Key"].ToString() is { Length: > 0 } key ? $"mlflow:{key}" : Guid.CreateVersion7().ToString();
}
