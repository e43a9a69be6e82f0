using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Inference;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Agents.Actions;

/// <summary>
/// Scores a dataset with a model version as a batch (<c>model</c>, <c>version</c>, <c>datasetUri</c>) and waits for it.
/// The batch id is derived from the execution and attempt, so an attempt resumed after a crash finds its batch. Output:
/// the batch id, rows scored and failed, and the output file's path. Stopping the execution cancels the batch.
/// </summary>
public sealed class BatchInferAction(PlatformCalls platform, TimeProvider time, IOptions<AgentOptions> options) : IAgentAction
{
    /// <inheritdoc />
    public string Type => "batch-infer";

    /// <inheritdoc />
    public string? RequiredPermission => Permissions.InferencePredict;

    /// <inheritdoc />
    public void Validate(AgentSettings settings)
    {
        settings.OptionalString("model");
        settings.OptionalString("version", 50);
        settings.OptionalString("datasetUri", 1000);
    }

    /// <inheritdoc />
    public async Task<AgentOutcome> RunAsync(AgentRun run, CancellationToken cancellationToken)
    {
        var settings = run.Settings;
        var batchId = DerivedId.From(run.ExecutionId, $"batch-{run.Attempt}");
        var grain = platform.Grains.Batch(run.TenantKey, batchId);
        var batch = await platform.CallAsync(_ => grain.SubmitAsync(new SubmitBatch(settings.String("model"),
            settings.OptionalString("version", 50) ?? "active", settings.String("datasetUri", 1000))));
        run.Log.Info("Batch submitted", new { batchId });
        try
        {
            while (batch.Status is "pending" or "running")
            {
                await Task.Delay(options.Value.PollInterval, time, cancellationToken);
                batch = await platform.CallAsync(_ => grain.GetAsync());
            }
        }
        catch (OperationCanceledException)
        {
            await platform.CallAsync(_ => grain.CancelAsync());
            throw;
        }

        run.Log.Info($"Batch {batch.Status}", new { batchId, batch.ProcessedRows, batch.FailedRows, batch.Error });
        return batch.Status == "completed"
            ? new AgentOutcome.Completed(new JsonObject
            {
                ["batchId"] = batchId.ToString(), ["model"] = batch.Model, ["version"] = batch.Version, ["processedRows"] = batch.ProcessedRows,
                ["failedRows"] = batch.FailedRows, ["outputPath"] = batch.OutputPath,
            })
            : new AgentOutcome.Failed($"Batch {batchId} {batch.Status}: {batch.Error}", Retryable: batch.Status == "failed");
    }
}
