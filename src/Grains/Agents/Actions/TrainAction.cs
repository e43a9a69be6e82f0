using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Training;

namespace PhantomMl.Grains.Agents.Actions;

/// <summary>
/// Starts a training job (<c>modelName</c>, <c>datasetUri</c>, <c>training</c> = the job's config, <c>hyperparameters</c>)
/// and waits for it. The job's id is derived from the execution, so an attempt after a lost one waits for the same job
/// (and queues it again if it failed) instead of training twice. Output: the job id and, for the built-in trainer,
/// the registered version and its metrics. Stopping the execution cancels the job.
/// </summary>
public sealed class TrainAction(PlatformCalls platform, TimeProvider time, IOptions<AgentOptions> options) : IAgentAction
{
    /// <inheritdoc />
    public string Type => "train";

    /// <inheritdoc />
    public string? RequiredPermission => Permissions.TrainingRun;

    /// <inheritdoc />
    public void Validate(AgentSettings settings)
    {
        settings.OptionalString("modelName");
        settings.OptionalString("datasetUri", 1000);
        settings.OptionalObject("training");
        settings.OptionalObject("hyperparameters");
        settings.OptionalInteger("priority", -1000, 1000);
    }

    /// <inheritdoc />
    public async Task<AgentOutcome> RunAsync(AgentRun run, CancellationToken cancellationToken)
    {
        var settings = run.Settings;
        var jobId = DerivedId.From(run.ExecutionId, "train");
        var grain = platform.Grains.TrainingJob(run.TenantKey, jobId);
        var job = await FindOrCreateAsync(grain, run, settings);
        run.Log.Info("Training job started", new { jobId, job.Status, job.Attempt });
        try
        {
            while (job.Status is not ("completed" or "failed" or "cancelled"))
            {
                await Task.Delay(options.Value.PollInterval, time, cancellationToken);
                job = await platform.CallAsync(_ => grain.GetAsync());
            }
        }
        catch (OperationCanceledException)
        {
            await platform.CallAsync(_ => grain.CancelAsync("the agent execution stopped"));
            throw;
        }

        run.Log.Info($"Training job {job.Status}", new { jobId, job.Status, job.ErrorMessage });
        if (job.Status != "completed")
        {
            return new AgentOutcome.Failed($"Training job {jobId} {job.Status}: {job.ErrorMessage}", Retryable: job.Status == "failed");
        }

        var output = new JsonObject { ["jobId"] = jobId.ToString(), ["model"] = job.ModelName };
        if (job.MetricsSummary is not null && JsonNode.Parse(job.MetricsSummary) is JsonObject summary)
        {
            output["version"] = summary["version"]?.DeepClone();
            output["metrics"] = summary["metrics"]?.DeepClone();
        }

        return new AgentOutcome.Completed(output);
    }

    private async Task<TrainingJobView> FindOrCreateAsync(ITrainingJobGrain grain, AgentRun run, AgentSettings settings)
    {
        try
        {
            var existing = await platform.CallAsync(_ => grain.GetAsync());
            // A job that failed in an earlier attempt is queued again; one still going is waited for.
            return existing.Status == "failed" ? await platform.CallAsync(_ => grain.RetryAsync()) : existing;
        }
        catch (AgentFailure e) when (e.Status == 404)
        {
            // Not created yet (the first attempt, or one lost before it got this far).
        }

        var command = new CreateTrainingJob($"agent-{run.ExecutionId:N}"[..20], settings.String("modelName"), settings.String("datasetUri", 1000),
            settings.OptionalObject("training")?.ToJsonString(), settings.OptionalObject("hyperparameters")?.ToJsonString(), null,
            (int)(settings.OptionalInteger("priority", -1000, 1000) ?? 0));
        return await platform.CallAsync(_ => grain.CreateAsync(command));
    }
}
