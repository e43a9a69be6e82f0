using Microsoft.Extensions.Logging;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Training;

/// <summary>
/// A built-in run in this activation: started when the scheduler gives the job a slot, kept alive by a heartbeat
/// timer, recovered by the watchdog when its silo is gone.
/// </summary>
public sealed partial class TrainingJobGrain
{
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
        _changes.FailAll(PhantomException.Unavailable(ProblemTypes.SiloStopping, "Not applied",
            "The change was not applied: the job's grain is stopping. Send it again."));
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
}
