using System.Text.Json.Nodes;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Training;

/// <summary>
/// The job as a tracked run (MLflow's run): started by its client in a project, its status, name, tags, inputs and files
/// reported by that client. Changes go through the same group commit as a runner's reports.
/// </summary>
public sealed partial class TrainingJobGrain
{
    /// <summary>Most files one listing returns.</summary>
    public const int MaxListedArtifacts = 10_000;

    /// <inheritdoc />
    public async Task<RunView> StartRunAsync(StartRun command)
    {
        var audit = Event("start-run", new { command?.ProjectId, command?.RunName });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        var valid = command ?? throw PhantomException.Invalid("Send the run.", "body");
        var projectId = TrackingValidation.ProjectId(valid.ProjectId);
        var runName = valid.RunName is null ? $"run-{_jobId.ToString("N")[..8]}" : TrackingValidation.RunName(valid.RunName);
        var tags = TrackingValidation.Tags(valid.Tags);
        var startTime = PlausibleTime.Check(valid.StartTime, "start_time") ?? DateTimeOffset.UtcNow;
        var limit = await limits.GetAsync(_tenantId!.Value, Quotas.TrackingRuns);
        await changes.ApplyAsync<StoredRun>(caller, _tenantId.Value, audit, async (connection, transaction) =>
        {
            if (await trainingSql.LoadAsync(transaction, _jobId) is not null)
            {
                throw PhantomException.Conflict($"Run {_jobId:N} exists already.");
            }

            var project = await TrainingProjectGrain.LoadOrCreateDefaultAsync(trackingSql, transaction, projectId, caller.UserId)
                ?? throw PhantomException.NotFound("experiment", projectId);
            if (project.DeletedAt is not null)
            {
                throw PhantomException.Invalid($"Experiment {projectId} is deleted; restore it to start runs in it.", "experiment_id");
            }

            await tenantSql.ConsumeAsync(connection, transaction, _tenantId.Value, Quotas.TrackingRuns, 1, limit, DateTimeOffset.UtcNow);
            return await trackingSql.InsertRunAsync(transaction, _jobId, projectId, runName, startTime, tags, caller.UserId);
        }, replay: ExistingRunAsync);
        return await RunViewAsync(withMetrics: false);
    }

    /// <inheritdoc />
    public async Task<RunView> GetRunAsync()
    {
        await AuthorizeAsync(Permissions.TrainingRead, Event("read"));
        return await RunViewAsync(withMetrics: true);
    }

    /// <inheritdoc />
    public async Task<RunView> UpdateRunAsync(string? status, string? runName, DateTimeOffset? endTime)
    {
        var audit = Event("update-run", new { status, runName, endTime });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        if (status is not (null or "running" or "completed" or "failed" or "cancelled"))
        {
            throw PhantomException.Invalid("A run's status becomes running, completed, failed or cancelled.", "status");
        }

        var name = runName is null ? null : TrackingValidation.RunName(runName);
        var end = PlausibleTime.Check(endTime, "end_time");
        await RunChangeAsync(caller, audit, async (_, transaction) =>
        {
            var run = await RunOf(transaction);
            RequireActive(run);
            if (name is not null)
            {
                await trackingSql.RenameRunAsync(transaction, _jobId, name);
            }

            // The same status again is no move (a client that ends a run twice); any other goes by the state machine.
            if (status is not null && status != run.Job.Status)
            {
                await Move(status, status == "failed" ? "failed (reported by the run's client)" : null, null)(null!, transaction);
            }

            // The client's clock says when the run ended (MLflow's end_time); the move stamped the platform's.
            if (end is not null && (status ?? run.Job.Status) is "completed" or "failed" or "cancelled")
            {
                await trackingSql.SetRunEndAsync(transaction, _jobId, end.Value);
            }
        });
        return await RunViewAsync(withMetrics: false);
    }

    /// <inheritdoc />
    public async Task<RunView> TagRunAsync(IReadOnlyDictionary<string, string> set, IReadOnlyList<string> delete)
    {
        var audit = Event("tag-run", new { set = set?.Keys, delete });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        var tags = TrackingValidation.Tags(set);
        var removed = (delete ?? []).Select(key => TrackingValidation.Key(key, "key")).ToList();
        await RunChangeAsync(caller, audit, async (_, transaction) =>
        {
            var run = await RunOf(transaction);
            RequireActive(run);
            if (removed.FirstOrDefault(key => !run.Tags.ContainsKey(key) && !tags.ContainsKey(key)) is { } missing)
            {
                throw PhantomException.NotFound("tag", missing);
            }

            await trackingSql.TagRunAsync(transaction, _jobId, tags, removed);
        });
        return await RunViewAsync(withMetrics: false);
    }

    /// <inheritdoc />
    public async Task<RunView> SetRunDeletedAsync(bool deleted)
    {
        var audit = Event(deleted ? "delete-run" : "restore-run");
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        await RunChangeAsync(caller, audit, async (_, transaction) =>
        {
            await RunOf(transaction);
            await trackingSql.SetRunDeletedAsync(transaction, _jobId, deleted);
        });
        return await RunViewAsync(withMetrics: false);
    }

    /// <inheritdoc />
    public async Task<RunView> LogRunInputsAsync(string inputs)
    {
        var audit = Event("log-inputs");
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        var added = TrackingValidation.Inputs(inputs);
        await RunChangeAsync(caller, audit, async (_, transaction) =>
        {
            var run = await RunOf(transaction);
            RequireActive(run);
            var logged = run.Inputs is null ? new JsonArray() : JsonNode.Parse(run.Inputs)!.AsArray();
            var seen = logged.Select(input => input!.ToJsonString()).ToHashSet();
            foreach (var input in added.EnumerateArray())
            {
                if (seen.Add(input.GetRawText()))
                {
                    logged.Add(JsonNode.Parse(input.GetRawText()));
                }
            }

            var merged = logged.ToJsonString();
            if (merged.Length > TrackingValidation.MaxInputsBytes)
            {
                throw PhantomException.TooLarge("A run's inputs take at most 1 MiB.", "datasets");
            }

            await trackingSql.SetRunInputsAsync(transaction, _jobId, merged);
        });
        return await RunViewAsync(withMetrics: false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RunArtifactView>> ListRunArtifactsAsync(string directory)
    {
        await AuthorizeAsync(Permissions.TrainingRead, Event("read"));
        var prefix = TrackingValidation.ArtifactDirectory(directory) is { Length: > 0 } path ? path + "/" : "";
        return await database.InTenantAsync(_tenantId!.Value, async (_, transaction) =>
        {
            await RunOf(transaction);
            return (IReadOnlyList<RunArtifactView>)await trackingSql.ListRunArtifactsAsync(transaction, _jobId, prefix, MaxListedArtifacts);
        });
    }

    /// <inheritdoc />
    public async Task<RunArtifactTicket> PrepareRunArtifactAsync(string path, long sizeBytes)
    {
        await AuthorizeAsync(Permissions.TrainingRun, Event("upload-artifact", new { path }));
        var valid = TrackingValidation.ArtifactPath(path);
        var tenantLimits = await limits.GetAsync(_tenantId!.Value);
        if (sizeBytes < 0 || sizeBytes > tenantLimits[Quotas.ModelFileBytes])
        {
            throw PhantomException.TooLarge($"A file is at most {tenantLimits[Quotas.ModelFileBytes]} bytes ({Quotas.ModelFileBytes}).",
                Quotas.ModelFileBytes);
        }

        await database.InTenantAsync(_tenantId.Value, async (_, transaction) =>
        {
            RequireActive(await RunOf(transaction));
            return true;
        });
        return new RunArtifactTicket(valid, ArtifactKeys.ForRun(_tenantId.Value, _jobId), sizeBytes);
    }

    /// <inheritdoc />
    public async Task<RunArtifactView> CompleteRunArtifactAsync(RunArtifactTicket ticket, long measuredBytes, string measuredSha256)
    {
        var audit = Event("upload-artifact", new { ticket?.Path, measuredBytes, measuredSha256 });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        // The ticket comes back from the front end: its key must be one of this run's, its path a checked one.
        if (ticket is null || !ArtifactKeys.IsRunFileOf(ticket.ObjectKey, _tenantId!.Value, _jobId) || measuredBytes != ticket.SizeBytes
            || measuredSha256 is not { Length: 64 } || !measuredSha256.All(char.IsAsciiHexDigitLower))
        {
            throw PhantomException.Invalid("The upload does not match a ticket of this run.", "ticket");
        }

        var artifact = new RunArtifactView(TrackingValidation.ArtifactPath(ticket.Path), measuredBytes, measuredSha256, DateTimeOffset.UtcNow);
        var limit = await limits.GetAsync(_tenantId.Value, Quotas.ArtifactBytes);
        var replaced = await changes.ApplyAsync(caller, _tenantId.Value, audit, async (connection, transaction) =>
        {
            RequireActive(await RunOf(transaction));
            var before = await trackingSql.PutRunArtifactAsync(transaction, _jobId, artifact, ticket.ObjectKey, caller.UserId);
            await tenantSql.ConsumeAsync(connection, transaction, _tenantId.Value, Quotas.ArtifactBytes, measuredBytes - (before?.SizeBytes ?? 0),
                limit, DateTimeOffset.UtcNow);
            return before?.ObjectKey;
        });
        if (replaced is not null)
        {
            await artifacts.DeleteAsync(replaced, CancellationToken.None);
        }

        return artifact;
    }

    /// <inheritdoc />
    public async Task<RunArtifactLocation> LocateRunArtifactAsync(string path)
    {
        await AuthorizeAsync(Permissions.TrainingRead, Event("read"));
        var valid = TrackingValidation.ArtifactPath(path);
        return await database.InTenantAsync(_tenantId!.Value, async (_, transaction) =>
        {
            await RunOf(transaction);
            return await trackingSql.LoadRunArtifactAsync(transaction, _jobId, valid) ?? throw PhantomException.NotFound("artifact", valid);
        });
    }

    /// <summary>Queues a change of the run (group commit); answered once it committed.</summary>
    private Task<object?> RunChangeAsync(Caller caller, AuditEvent audit, Func<Npgsql.NpgsqlConnection, Npgsql.NpgsqlTransaction, Task> change) =>
        _changes.SubmitAsync<object?>(
            new AuditedChange(caller, _tenantId!.Value, audit, async (connection, transaction) =>
            {
                await change(connection, transaction);
                return null;
            }, () => Task.FromResult<object?>(null)),
            () => this.AsReference<ITrainingJobGrain>().CommitChangesAsync());

    private async Task<StoredRun> RunOf(Npgsql.NpgsqlTransaction transaction) =>
        await trackingSql.LoadRunAsync(transaction, _jobId) ?? throw PhantomException.NotFound("run", _jobId.ToString("N"));

    private Task<StoredRun> ExistingRunAsync() => database.InTenantAsync(_tenantId!.Value, (_, transaction) => RunOf(transaction));

    /// <summary>
    /// The run as stored; its latest metrics (a ClickHouse query) only when asked for: a change is answered without them,
    /// since every tag, name or status a client sends would otherwise pay that query for an answer it does not read.
    /// </summary>
    private async Task<RunView> RunViewAsync(bool withMetrics)
    {
        var run = await ExistingRunAsync();
        var metrics = withMetrics ? await metricsTable.LatestAsync(_tenantId!.Value, _jobId) : null;
        return new RunView(run.Job, run.ProjectId, run.Tags, run.Inputs, run.DeletedAt, metrics);
    }

    /// <summary>MLflow refuses changes to a deleted run: restore it first.</summary>
    private static void RequireActive(StoredRun run)
    {
        if (run.DeletedAt is not null)
        {
            throw PhantomException.Invalid($"Run {run.Job.Id:N} is deleted; restore it first.", "run_id");
        }
    }
}
