using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Lineage;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// See <see cref="IBatchInferenceGrain"/>. The inference_batches row is the state; the run itself
/// (<see cref="BatchRun"/>) works on the thread pool. A batch is admitted before anything is read: its dataset is within
/// the tenant's <c>batch_dataset_bytes</c>, the tenant has fewer than <c>concurrent_batch_runs</c> batches pending or
/// running (counted in the same transaction that records it), and it is charged one request; its rows are charged
/// against <c>inference_rows</c> chunk by chunk, before each is scored. While a batch is unfinished a reminder ticks every minute: if
/// the run was lost with its silo (no progress for <see cref="InferenceOptions.BatchSilentFor"/> and no run in this activation), it is
/// started again, at most <see cref="MaxAttempts"/> times in all; a finished batch's reminder removes itself.
/// The caller needs <c>inference:predict</c>; another tenant's batch is 404 like a missing one.
/// </summary>
public sealed partial class BatchInferenceGrain(
    TenantDatabase database,
    InferenceSql inferenceSql,
    LineageSql lineageSql,
    TenantSql tenantSql,
    TenantResolver tenantResolver,
    AccessGuard guard,
    AuditedChanges changes,
    InternalCalls internalCalls,
    BatchRun runner,
    IArtifactStore artifacts,
    IReminderTable reminders,
    MonthlyQuotaLeases quota,
    TenantLimits limits,
    IOptions<InferenceOptions> options,
    TimeProvider time,
    ILogger<BatchInferenceGrain> logger)
    : Grain, IBatchInferenceGrain, IRemindable
{
    /// <summary>Runs a batch gets before it is failed as lost.</summary>
    public const int MaxAttempts = 3;

    private const string ReminderName = "batch-resume";
    private static readonly string[] Unfinished = ["pending", "running"];
    private string _tenantKey = "";
    private Guid _batchId;
    private Guid? _tenantId;
    private Task? _run;
    private CancellationTokenSource? _cancel;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenantKey, _batchId) = GrainKeys.ParseTenantAndId(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<BatchView> SubmitAsync(SubmitBatch command)
    {
        var audit = Event("submit-batch", new { command?.Model, command?.Version, command?.DatasetUri });
        var caller = await AuthorizeAsync(Permissions.InferencePredict, audit);
        var tenantId = _tenantId!.Value;
        if (_batchId == Guid.Empty)
        {
            throw PhantomException.Invalid("A batch id is a UUID.", "batchId");
        }

        if (command is null || command.Version is not { Length: > 0 and <= 50 })
        {
            throw PhantomException.Invalid("Name the model, a version (label, alias or \"active\", at most 50 characters) and the datasetUri.",
                "version");
        }

        ModelLifecycle.Name(command.Model);
        var (datasetModel, datasetVersion) = DatasetUri.Parse(command.DatasetUri);
        if (await LoadAsync() is { } existing)
        {
            // The same submission again (a client retrying after a lost answer) gets the batch; anything else is a conflict.
            return existing.View.Model == command.Model && existing.View.DatasetUri == command.DatasetUri && existing.View.CreatedBy == caller.UserId
                ? existing.View
                : throw PhantomException.Conflict($"Batch {_batchId} exists; submit a new batch under a new id.");
        }

        var (route, dataset) = await ResolveAsync(command.Model, command.Version, datasetModel, datasetVersion);
        var tenantLimits = await limits.GetAsync(tenantId);
        var maxInput = Math.Min(options.Value.BatchMaxInputBytes, tenantLimits[Quotas.BatchDatasetBytes]);
        if (dataset.SizeBytes > maxInput)
        {
            throw PhantomException.TooLarge($"The dataset is {dataset.SizeBytes} bytes; a batch of this tenant reads at most {maxInput} " +
                $"({Quotas.BatchDatasetBytes}).", Quotas.BatchDatasetBytes);
        }

        await changes.ApplyAsync(caller, tenantId, audit, async (connection, transaction) =>
        {
            // Counted in the transaction that records the batch, under the tenant's admission lock: concurrent submissions
            // on any silo cannot both take the last slot.
            var limit = (await tenantSql.LoadAsync(connection, transaction))!.EffectiveQuotas[Quotas.ConcurrentBatchRuns];
            var running = await inferenceSql.CountUnfinishedAsync(transaction);
            if (running >= limit)
            {
                throw PhantomException.QuotaExceeded(Quotas.ConcurrentBatchRuns, limit, running, 1);
            }

            await quota.ConsumeAsync(tenantId, Quotas.InferenceRequests, 1, options.Value.QuotaLeaseSize);
            await inferenceSql.InsertAsync(transaction, _batchId, route.ModelId, command.Model, route.Primary.Version, command.DatasetUri,
                dataset.StoragePath, caller.UserId);
            var output = (LineageKinds.BatchOutput, _batchId.ToString("D"));
            var version = (LineageKinds.ModelVersion, LineageKinds.VersionId(command.Model, route.Primary.Version));
            await lineageSql.RecordAsync(transaction, output, version, "batch-inference", caller.UserId);
            await lineageSql.RecordAsync(transaction, output, (LineageKinds.Dataset, command.DatasetUri), "batch-input", caller.UserId);
            return true;
        }, replay: () => Task.FromResult(true));
        await Reminders.EnsureAsync(this, reminders, ReminderName, options.Value.BatchWatchInterval);
        Start(new BatchJob(tenantId, _batchId, route.ModelId, route.Primary, dataset, caller.UserId, Owner(tenantId, tenantLimits), Restart: false));
        return (await LoadAsync())!.View;
    }

    /// <inheritdoc />
    public async Task<BatchView> GetAsync()
    {
        await AuthorizeAsync(Permissions.InferencePredict, Event("read"));
        return (await LoadAsync())?.View ?? throw PhantomException.NotFound("batch", _batchId.ToString());
    }

    /// <inheritdoc />
    public async Task<BatchView> CancelAsync()
    {
        var audit = Event("cancel-batch");
        var caller = await AuthorizeAsync(Permissions.InferencePredict, audit);
        var batch = await LoadAsync() ?? throw PhantomException.NotFound("batch", _batchId.ToString());
        var cancelled = await changes.ApplyAsync(caller, _tenantId!.Value, audit, (_, transaction) =>
            inferenceSql.FinishAsync(transaction, _batchId, "cancelled", Unfinished), replay: () => Task.FromResult(true));
        if (!cancelled)
        {
            throw PhantomException.Conflict($"Batch {_batchId} is {batch.View.Status}; only a pending or running batch can be cancelled.");
        }

        // The run notices at its next chunk anyway (its progress update requires "running"); this only makes it sooner.
        _cancel?.Cancel();
        return (await LoadAsync())!.View;
    }

    /// <inheritdoc />
    public async Task<byte[]> ReadFileAsync(bool errors, long offset, int count)
    {
        await AuthorizeAsync(Permissions.InferencePredict, Event("read"));
        if (offset < 0 || count is <= 0 or > IArtifactReaderGrain.MaxRangeBytes)
        {
            throw PhantomException.Invalid($"Read 1 to {IArtifactReaderGrain.MaxRangeBytes} bytes from a non-negative offset.", "count");
        }

        var batch = (await LoadAsync())?.View ?? throw PhantomException.NotFound("batch", _batchId.ToString());
        var path = (errors ? batch.ErrorsPath : batch.OutputPath)
            ?? throw PhantomException.NotFound("batch file", batch.Status == "completed" ? "none was written" : $"the batch is {batch.Status}");
        await using var content = await artifacts.OpenReadAsync(path, offset, count, CancellationToken.None);
        var buffer = new byte[count];
        var filled = await content.ReadAtLeastAsync(buffer, count, throwOnEndOfStream: false);
        return filled == count ? buffer : buffer[..filled];
    }

    /// <inheritdoc />
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // A reminder is the platform's own call: the tenant is found from the batch's key, as the platform.
        _tenantId ??= await tenantResolver.ResolveAsync(_tenantKey);
        var batch = _tenantId is null ? null : await LoadAsync();
        if (batch is null || !Unfinished.Contains(batch.View.Status))
        {
            await this.UnregisterReminder(await this.GetReminder(ReminderName) ?? throw new InvalidOperationException("The reminder is gone."));
            return;
        }

        if (_run is { IsCompleted: false } || batch.UpdatedAt > time.GetUtcNow() - options.Value.BatchSilentFor)
        {
            return; // running here, or making progress somewhere
        }

        var tenantId = _tenantId!.Value;
        if (batch.View.Attempt >= MaxAttempts)
        {
            await database.InTenantAsync(tenantId, (_, transaction) => inferenceSql.FinishAsync(transaction, _batchId, "failed", Unfinished,
                error: $"The batch's run was lost {MaxAttempts} times (its silo stopped or failed); submit it again."));
            return;
        }

        LogResuming(_batchId, batch.View.Attempt + 1);
        try
        {
            var (datasetModel, datasetVersion) = DatasetUri.Parse(batch.View.DatasetUri);
            var (route, dataset) = await ResolveAsync(batch.View.Model, batch.View.Version, datasetModel, datasetVersion);
            Start(new BatchJob(tenantId, _batchId, batch.ModelId, route.Primary, dataset, batch.View.CreatedBy,
                Owner(tenantId, await limits.GetAsync(tenantId)), Restart: true));
        }
        catch (PhantomException e)
        {
            await database.InTenantAsync(tenantId, (_, transaction) => inferenceSql.FinishAsync(transaction, _batchId, "failed", Unfinished,
                error: $"The batch could not be resumed: {e.Detail}"));
        }
    }

    private void Start(BatchJob job)
    {
        _cancel = new CancellationTokenSource();
        var token = _cancel.Token;
        _run = Task.Run(() => runner.RunAsync(job, token), CancellationToken.None);
    }

    /// <summary>
    /// The model version's artifact (a version is pinned when the batch is submitted) and the dataset's, looked up as
    /// the platform.
    /// </summary>
    private Task<(ServingRoute Route, ArtifactView Dataset)> ResolveAsync(string model, string version, string datasetModel, string datasetVersion) =>
        internalCalls.AsComponentAsync("inference", async () =>
        {
            var route = await GrainFactory.Model(_tenantKey, model).GetServingRouteAsync(version);
            var dataset = await GrainFactory.Model(_tenantKey, datasetModel).GetArtifactAsync(datasetVersion);
            return (route, dataset);
        });

    private async Task<Caller> AuthorizeAsync(string permission, AuditEvent audit)
    {
        var access = await guard.AuthorizeAsync(_tenantKey, permission, audit);
        _tenantId = access.TenantId;
        return access.Caller;
    }

    private static ModelOwner Owner(Guid tenantId, IReadOnlyDictionary<string, long> tenantLimits) =>
        new(tenantId, (int)Math.Clamp(tenantLimits[Quotas.OnnxThreads], 1, 64), tenantLimits[Quotas.OnnxSessionBytes]);

    private async Task<InferenceSql.Row?> LoadAsync() => _tenantId is { } tenantId && _batchId != Guid.Empty
        ? await database.InTenantAsync(tenantId, (_, transaction) => inferenceSql.FindAsync(transaction, _batchId))
        : null;

    private AuditEvent Event(string action, object? details = null) =>
        new(action == "read" ? "data_access" : "inference", "batch", _batchId.ToString(), action, AuditEvent.Success, details);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch {BatchId} lost its run; starting attempt {Attempt}")]
    private partial void LogResuming(Guid batchId, int attempt);
}
