using System.Collections.Frozen;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Lineage;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Training;

/// <summary>
/// See <see cref="ITrainingJobGrain"/>. The job's row is its state and is read afresh on every call: the
/// tenant's scheduler moves rows too, and every move is a conditional UPDATE from the status it expects, so
/// neither can overwrite the other. What a runner or user changes is group committed (<see cref="AuditedChangeQueue"/>).
/// A built-in run lives in this activation (see <see cref="BuiltInRun"/>), kept alive and heartbeating by a grain timer
/// while it trains on the thread pool.
/// </summary>
public sealed partial class TrainingJobGrain(
    TenantDatabase database,
    TrainingSql trainingSql,
    TrackingSql trackingSql,
    TrainingMetricsTable metricsTable,
    TenantSql tenantSql,
    IArtifactStore artifacts,
    ModelSql modelSql,
    LineageSql lineageSql,
    AccessGuard guard,
    AuditedChanges changes,
    BuiltInRun builtInRun,
    InternalCalls internalCalls,
    TenantLimits limits,
    IOptions<TrainingOptions> options,
    ILocalSiloDetails silo,
    ILogger<TrainingJobGrain> logger) : Grain, ITrainingJobGrain
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

    private readonly AuditedChangeQueue _changes = new();
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
        TrainingJobValidation.Create(command ?? throw PhantomException.Invalid("Send the job.", "body"));
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
            await lineageSql.RecordAsync(transaction, (LineageKinds.TrainingJob, _jobId.ToString("D")), (LineageKinds.Dataset, command.DatasetUri),
                "training-input", caller.UserId);
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
    public async Task<TrainingJobView> CancelAsync(string? reason)
    {
        var audit = Event("cancel", new { reason });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        if (reason is not null && (string.IsNullOrWhiteSpace(reason) || reason.Length > 1000 || reason.Any(char.IsControl)))
        {
            throw PhantomException.Invalid("reason, when given, is 1-1000 characters without control characters.", "reason");
        }

        return await ChangeAsync(caller, audit, Move("cancelled", reason is null ? "cancelled" : $"cancelled: {reason}", null),
            afterCommit: StopRunAndPumpAsync);
    }

    /// <inheritdoc />
    public async Task<TrainingJobView> RetryAsync()
    {
        var audit = Event("retry");
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        // Answered as the job is after the pump, which may have scheduled it at once.
        await ChangeAsync(caller, audit, Move("pending", null, null), afterCommit: PumpAsync);
        return await LoadAsync();
    }

    /// <inheritdoc />
    public Task CommitChangesAsync() => _changes.DrainAsync(changes);

    /// <summary>
    /// Queues an authorized change (see <see cref="AuditedChangeQueue"/>): it runs in the drain, in arrival order, in one
    /// transaction with the others waiting, reading the job as the changes before it left it. <paramref name="afterCommit"/>
    /// runs once per batch before anyone is answered. <paramref name="audit"/> null: not audited row by row.
    /// </summary>
    private Task<TrainingJobView> ChangeAsync(Caller caller, AuditEvent? audit,
        Func<Npgsql.NpgsqlConnection, Npgsql.NpgsqlTransaction, Task<TrainingJobView>> change, Func<Task>? afterCommit = null) =>
        _changes.SubmitAsync<TrainingJobView>(
            new AuditedChange(caller, _tenantId!.Value, audit, async (connection, transaction) => await change(connection, transaction),
                async () => await LoadAsync(), AfterCommit: afterCommit),
            () => this.AsReference<ITrainingJobGrain>().CommitChangesAsync());

    private async Task StopRunAndPumpAsync()
    {
        if (_runCancellation is not null)
        {
            await _runCancellation.CancelAsync();
        }

        await PumpAsync();
    }

    private Task<TrainingJobView> MoveAsync(Caller caller, AuditEvent audit, string to, string? errorMessage, string? metricsSummary,
        string? runner = null, string? eventIdSuffix = null) =>
        changes.ApplyAsync(caller, _tenantId!.Value, audit, Move(to, errorMessage, metricsSummary, runner), replay: LoadAsync,
            eventIdSuffix: eventIdSuffix);

    /// <summary>The move of the job to <paramref name="to"/>, if the state machine allows it from where the job is.</summary>
    private Func<Npgsql.NpgsqlConnection, Npgsql.NpgsqlTransaction, Task<TrainingJobView>> Move(string to, string? errorMessage,
        string? metricsSummary, string? runner = null) => async (_, transaction) =>
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
    };

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

    private AuditEvent Event(string action, object? details = null) =>
        new(action == "read" ? "data_access" : "training", "training_job", _jobId.ToString(), action, AuditEvent.Success, details);
}
