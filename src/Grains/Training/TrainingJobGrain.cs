using System.Collections.Frozen;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Training;

/// <summary>
/// See <see cref="ITrainingJobGrain"/>. The job's row is its state and is read afresh on every call: the
/// tenant's scheduler moves rows too, and every move is a conditional UPDATE from the status it expects, so
/// neither can overwrite the other. A built-in run lives in this activation (see <see cref="BuiltInRun"/>),
/// kept alive and heartbeating by a grain timer while it trains on the thread pool.
/// </summary>
public sealed partial class TrainingJobGrain(
    TenantDatabase database,
    AccessGuard guard,
    AuditedChanges changes,
    BuiltInRun builtInRun,
    InternalCalls internalCalls,
    TenantLimits limits,
    IOptions<TrainingOptions> options,
    ILocalSiloDetails silo,
    ILogger<TrainingJobGrain> logger, ModelSql modelSql, TrainingSql trainingSql) : Grain, ITrainingJobGrain
{
    /// <summary>The legal moves of the state machine, from → to.</summary>
    public static readonly FrozenDictionary<string, string[]> Transitions = new Dictionary<string, string[]>
    {
        ["pending"] = ["scheduled", "cancelled"],
        ["scheduled"] = ["running", "cancelled"],
        ["running"] = ["completed", "failed", "cancelled"],
        ["completed"] = [],
        ["failed"] = ["pending"],
        ["cancelled"] = ["pending"],
    }.ToFrozenDictionary();

    private const int MaxJsonChars = 64 * 1024;
    private string _tenantKey = "";
    private Guid _jobId;
    private Guid? _tenantId;
    private CancellationTokenSource? _runCancellation;
    private Task? _run;
    private IGrainTimer? _heartbeat;

    private bool Running => _run is { IsCompleted: false };

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenantKey, _jobId) = GrainKeys.ParseTenantAndId(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<TrainingJobView> CreateAsync(CreateTrainingJob command)
    {
        var audit = Event("create", new { command?.JobName, command?.ModelName, command?.DatasetUri, command?.Priority });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        Validate(command ?? throw PhantomException.Invalid("Send the job.", "body"));
        if (TrainingRecipe.IsBuiltIn(command.Config))
        {
            // Refused now, not when a slot frees up hours later.
            var recipe = TrainingRecipe.Parse(command.Config!, command.Hyperparameters, command.DatasetUri);
            if (recipe.DatasetModel == command.ModelName)
            {
                throw PhantomException.Invalid("The dataset is a version of another model than the one trained.", "datasetUri");
            }

            if (SearchSpace.Parse(command.Config!, recipe.Seed) is { } search)
            {
                if (!recipe.Metrics.Contains(search.Metric))
                {
                    throw PhantomException.Invalid($"config.search.metric is one of {string.Join(", ", recipe.Metrics)} for {recipe.Task}.",
                        "config.search.metric");
                }

                foreach (var point in search.Points)
                {
                    recipe.With(point);
                }
            }

            await RequireDatasetAsync(recipe);
        }

        await changes.ApplyAsync(caller, _tenantId!.Value, audit, async (connection, transaction) =>
        {
            if (await trainingSql.LoadAsync(transaction, _jobId) is not null)
            {
                throw PhantomException.Conflict($"Training job {_jobId} exists already.");
            }

            var model = await modelSql.LoadAsync(connection, transaction, command.ModelName) ?? throw PhantomException.NotFound("model",
                command.ModelName);
            return await trainingSql.InsertAsync(transaction, _jobId, model.Id, command, caller.UserId);
        }, replay: LoadAsync);
        await PumpAsync();
        return await LoadAsync();
    }

    /// <inheritdoc />
    public async Task<TrainingJobView> GetAsync()
    {
        await AuthorizeAsync(Permissions.TrainingRead, Event("read"));
        return await LoadAsync();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ExperimentView>> ListExperimentsAsync()
    {
        await AuthorizeAsync(Permissions.TrainingRead, Event("read"));
        return await database.InTenantAsync(_tenantId!.Value, async (_, transaction) =>
        {
            await Existing(transaction);
            return (IReadOnlyList<ExperimentView>)await trainingSql.ListExperimentsAsync(transaction, _jobId);
        });
    }

    /// <inheritdoc />
    public async Task<TrainingJobView> ReportStatusAsync(string status, string? errorMessage, string? metricsSummary)
    {
        var audit = Event("report-status", new { status, errorMessage });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        if (status is not ("running" or "completed" or "failed"))
        {
            throw PhantomException.Invalid("A runner reports running, completed or failed.", "status");
        }

        if (status == "failed" && string.IsNullOrWhiteSpace(errorMessage))
        {
            throw PhantomException.Invalid("A failure needs an errorMessage.", "errorMessage");
        }

        if (errorMessage is { Length: > 8192 })
        {
            throw PhantomException.Invalid("errorMessage is at most 8192 characters.", "errorMessage");
        }

        if (!caller.IsComponent && TrainingRecipe.IsBuiltIn((await LoadAsync()).Config))
        {
            throw PhantomException.Conflict("The built-in trainer reports this job's status itself; cancel it to stop it.");
        }

        var job = await MoveAsync(caller, audit, status, errorMessage, JsonObjectOrNull(metricsSummary, "metricsSummary"));
        if (status != "running")
        {
            await PumpAsync();
        }

        return job;
    }

    /// <inheritdoc />
    public async Task<TrainingJobView> LogParamsAsync(IReadOnlyDictionary<string, string> parameters)
    {
        var audit = Event("log-params", new { keys = parameters?.Keys });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        if (parameters is null || parameters.Count is 0 or > 100)
        {
            throw PhantomException.Invalid("Log 1 to 100 parameters at a time.", "params");
        }

        foreach (var (name, value) in parameters)
        {
            if (string.IsNullOrWhiteSpace(name) || name.Length > 250
                || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or ' '))
            {
                throw PhantomException.Invalid("A parameter name is 1 to 250 letters, digits, spaces and _ - . /.", "params");
            }

            if (value is null || value.Length > 6000 || value.Contains('\0'))
            {
                throw PhantomException.Invalid($"Parameter '{name}': a value is at most 6000 characters, without NUL.", "params");
            }
        }

        return await changes.ApplyAsync(caller, _tenantId!.Value, audit, async (_, transaction) =>
        {
            var current = await Existing(transaction);
            using var logged = JsonDocument.Parse(current.Hyperparameters ?? "{}");
            foreach (var (name, value) in parameters)
            {
                if (logged.RootElement.TryGetProperty(name, out var existing)
                    && (existing.ValueKind == JsonValueKind.String ? existing.GetString() : existing.GetRawText()) != value)
                {
                    throw PhantomException.Conflict($"Parameter '{name}' was logged as {existing.GetRawText()}; a parameter keeps its first value.");
                }
            }

            return (await trainingSql.MergeParamsAsync(transaction, _jobId, JsonSerializer.Serialize(parameters)))!;
        }, replay: LoadAsync);
    }

    /// <inheritdoc />
    public async Task<TrainingJobView> ReportProgressAsync(double progress)
    {
        await AuthorizeAsync(Permissions.TrainingRun, Event("report-progress", new { progress }));
        if (!double.IsFinite(progress) || progress is < 0 or > 1)
        {
            throw PhantomException.Invalid("progress is a number from 0 to 1.", "progress");
        }

        // Progress is frequent and not a change of state: not audited row by row.
        return await database.InTenantAsync(_tenantId!.Value, async (_, transaction) =>
            await trainingSql.SetProgressAsync(transaction, _jobId, progress)
            ?? throw PhantomException.Conflict($"Only a running job reports progress; this one is {(await Existing(transaction)).Status}."));
    }

    /// <inheritdoc />
    public async Task<TrainingJobView> CancelAsync(string? reason)
    {
        var audit = Event("cancel", new { reason });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        if (reason is not null && (string.IsNullOrWhiteSpace(reason) || reason.Length > 1000 || reason.Any(char.IsControl)))
        {
            throw PhantomException.Invalid("reason, when given, is 1-1000 characters without control characters.", "reason");
        }
        var job = await MoveAsync(caller, audit, "cancelled", reason is null ? "cancelled" : $"cancelled: {reason}", null);
        if (_runCancellation is not null)
        {
            await _runCancellation.CancelAsync();
        }

        await PumpAsync();
        return job;
    }

    /// <inheritdoc />
    public async Task<TrainingJobView> RetryAsync()
    {
        var audit = Event("retry");
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        await MoveAsync(caller, audit, "pending", null, null);
        await PumpAsync();
        return await LoadAsync();
    }

    /// <inheritdoc />
    public async Task<TrainingJobView> StartAsync()
    {
        var audit = Event("start");
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        var job = await LoadAsync();
        if (job.Status != "scheduled" || !TrainingRecipe.IsBuiltIn(job.Config) || Running)
        {
            return job;
        }

        var recipe = TrainingRecipe.Parse(job.Config, job.Hyperparameters, job.DatasetUri);
        // Started within the request that scheduled it (a create, a completion elsewhere): its own audit event id.
        job = await MoveAsync(caller, audit, "running", null, null, runner: $"builtin@{silo.Name}", eventIdSuffix: $":start:{_jobId:N}");
        _runCancellation = new CancellationTokenSource();
        var cancellation = _runCancellation.Token;
        // The run trains on the thread pool, never on this grain's scheduler; it talks to the cluster as the
        // "trainer" component and reports back through this grain like any runner.
        _run = Task.Run(() => builtInRun.RunAsync(_tenantKey, job, recipe, cancellation), CancellationToken.None);
        _heartbeat ??= this.RegisterGrainTimer(HeartbeatAsync, new GrainTimerCreationOptions
        {
            DueTime = options.Value.HeartbeatInterval,
            Period = options.Value.HeartbeatInterval,
            KeepAlive = true,
            Interleave = true,
        });
        return job;
    }

    /// <inheritdoc />
    public async Task<TrainingJobView> RecoverAsync(DateTimeOffset silentSince)
    {
        var audit = Event("recover", new { silentSince });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        var job = await LoadAsync();
        if (job.Status != "running" || job.UpdatedAt >= silentSince)
        {
            return job; // it reported meanwhile
        }

        if (Running)
        {
            // The run is alive here, only its heartbeat was late.
            await HeartbeatAsync(CancellationToken.None);
            return await LoadAsync();
        }

        LogRunnerLost(_jobId, job.Runner, job.UpdatedAt);
        job = await MoveAsync(caller, audit, "failed", $"runner lost: {job.Runner ?? "unknown"} sent nothing since {job.UpdatedAt:O}", null);
        if (job.Attempt < TrainingRecipe.MaxAttempts(job.Config))
        {
            job = await MoveAsync(caller, Event("retry", new { reason = "runner lost", attempt = job.Attempt + 1 }), "pending", null, null,
                eventIdSuffix: $":retry:{_jobId:N}");
        }

        await PumpAsync();
        return await LoadAsync();
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (Running)
        {
            // A graceful stop: the run ends here; the job stays running, the heartbeat stops, and the watchdog
            // hands the job to another silo once it has been silent for the heartbeat timeout.
            LogStoppedWithSilo(_jobId, reason.Description);
            await _runCancellation!.CancelAsync();
        }
    }

    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        if (!Running)
        {
            _heartbeat?.Dispose();
            _heartbeat = null;
            return;
        }

        await database.InTenantAsync(_tenantId!.Value, async (_, transaction) =>
        {
            await trainingSql.TouchAsync(transaction, _jobId);
            return true;
        }, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Training job {JobId}: runner {Runner} silent since {Since:O}; failing it")]
    private partial void LogRunnerLost(Guid jobId, string? runner, DateTimeOffset since);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Training job {JobId}: the activation stops ({Reason}) while training; the run is cancelled and the watchdog will reschedule it")]
    private partial void LogStoppedWithSilo(Guid jobId, string reason);

    private Task<TrainingJobView> MoveAsync(Caller caller, AuditEvent audit, string to, string? errorMessage, string? metricsSummary,
        string? runner = null, string? eventIdSuffix = null) =>
        changes.ApplyAsync(caller, _tenantId!.Value, audit, async (_, transaction) =>
        {
            var current = await Existing(transaction);
            if (!Transitions[current.Status].Contains(to))
            {
                throw PhantomException.Conflict(
                    $"A {current.Status} job cannot become {to}; from {current.Status} it can become: " +
                        $"{string.Join(", ", Transitions[current.Status].DefaultIfEmpty("nothing"))}.");
            }

            return await trainingSql.TransitionAsync(transaction, _jobId, [current.Status], to, errorMessage, metricsSummary, runner)
                ?? throw PhantomException.Conflict("The job changed meanwhile; read it and try again.");
        }, replay: LoadAsync, eventIdSuffix: eventIdSuffix);

    private async Task<TrainingJobView> Existing(Npgsql.NpgsqlTransaction transaction) =>
        await trainingSql.LoadAsync(transaction, _jobId) ?? throw PhantomException.NotFound("training job", _jobId.ToString());

    private Task<TrainingJobView> LoadAsync() =>
        database.InTenantAsync(_tenantId!.Value, (_, transaction) => Existing(transaction));

    private Task PumpAsync() => GrainFactory.TrainingScheduler(_tenantKey).PumpAsync();

    private async Task<Caller> AuthorizeAsync(string permission, AuditEvent audit)
    {
        var access = await guard.AuthorizeAsync(_tenantKey, permission, audit);
        if (_jobId == Guid.Empty)
        {
            throw PhantomException.NotFound("training job", GrainKeys.ParseModel(this.GetPrimaryKeyString()).Name);
        }

        _tenantId = access.TenantId;
        return access.Caller;
    }

    /// <summary>
    /// A built-in job's dataset must exist in the tenant, as a version's artifact, within the tenant's
    /// training_dataset_bytes: refused at creation (400, 413), not when a slot frees up hours later.
    /// </summary>
    private async Task RequireDatasetAsync(TrainingRecipe recipe)
    {
        ArtifactView dataset;
        try
        {
            dataset = await internalCalls.AsComponentAsync("trainer", () =>
                GrainFactory.Model(_tenantKey, recipe.DatasetModel).GetArtifactAsync(recipe.DatasetVersion));
        }
        catch (PhantomException e) when (e.Status == 404)
        {
            throw PhantomException.Invalid($"datasetUri names no dataset of this tenant: {e.Detail}", "datasetUri");
        }

        var limit = await limits.GetAsync(_tenantId!.Value, Quotas.TrainingDatasetBytes);
        if (dataset.SizeBytes > limit)
        {
            throw PhantomException.TooLarge($"The dataset is {dataset.SizeBytes} bytes; a training run of this tenant reads at most {limit} " +
                $"({Quotas.TrainingDatasetBytes}).", Quotas.TrainingDatasetBytes);
        }
    }

    private static void Validate(CreateTrainingJob command)
    {
        if (string.IsNullOrWhiteSpace(command.JobName) || command.JobName.Length > 255)
        {
            throw PhantomException.Invalid("jobName is 1 to 255 characters.", "jobName");
        }

        if (string.IsNullOrWhiteSpace(command.DatasetUri) || command.DatasetUri.Length > 2048)
        {
            throw PhantomException.Invalid("datasetUri is 1 to 2048 characters.", "datasetUri");
        }

        if (command.Priority is < -1000 or > 1000)
        {
            throw PhantomException.Invalid("priority is from -1000 to 1000.", "priority");
        }

        ModelLifecycle.Name(command.ModelName);
        JsonObjectOrNull(command.Config, "config");
        JsonObjectOrNull(command.Hyperparameters, "hyperparameters");
        JsonObjectOrNull(command.ResourceRequirements, "resourceRequirements");
    }

    private static string? JsonObjectOrNull(string? json, string field)
    {
        if (json is null)
        {
            return null;
        }

        if (json.Length > MaxJsonChars)
        {
            throw PhantomException.Invalid($"{field} is at most {MaxJsonChars} characters of JSON.", field);
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object ? json : throw PhantomException.Invalid($"{field} must be a JSON object.",
                field);
        }
        catch (JsonException)
        {
            throw PhantomException.Invalid($"{field} is not valid JSON.", field);
        }
    }

    private AuditEvent Event(string action, object? details = null) =>
        new(action == "read" ? "data_access" : "training", "training_job", _jobId.ToString(), action, AuditEvent.Success, details);
}
