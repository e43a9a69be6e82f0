using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Training.BuiltIn;

/// <summary>
/// One built-in training run, end to end, as the platform's "trainer" component: fetch the dataset CSV from the
/// registry, train in rounds (each round's metrics go to ClickHouse and its progress to the job), export ONNX,
/// register it as a new version of the job's model with its metrics and the artifact, record lineage to the
/// dataset's model, and report the job completed; any failure reports it failed with the reason.
/// </summary>
public sealed partial class BuiltInRun(
    IGrainFactory grains,
    InternalCalls internalCalls,
    IArtifactStore artifacts,
    IOptions<TrainingOptions> options,
    ILogger<BuiltInRun> logger)
{
    /// <summary>Runs the job; returns when it has been reported completed or failed, or was cancelled.</summary>
    public async Task RunAsync(string tenantKey, string jobKey, TrainingJobView job, TrainingRecipe recipe, CancellationToken cancellationToken)
    {
        var self = grains.GetGrain<ITrainingJobGrain>(jobKey);
        var folder = options.Value.WorkFolder ?? Path.Combine(Path.GetTempPath(), "phantom-training");
        Directory.CreateDirectory(folder);
        var csv = Path.Combine(folder, $"{job.Id:N}-{job.Attempt}.csv");
        try
        {
            await internalCalls.AsComponentAsync("trainer", async () =>
            {
                var dataset = await grains.GetGrain<IModelGrain>($"{tenantKey}/{recipe.DatasetModel}").GetArtifactAsync(recipe.DatasetVersion);
                await using (var source = await artifacts.OpenReadAsync(dataset.StoragePath, 0, null, cancellationToken))
                await using (var file = File.Create(csv))
                {
                    await source.CopyToAsync(file, cancellationToken);
                }

                var rounds = Channel.CreateUnbounded<RoundResult>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
                var reporting = ReportRoundsAsync(rounds.Reader, tenantKey, job, recipe, self);
                TrainedModel trained;
                try
                {
                    trained = await Task.Run(() => BuiltInTrainer.Train(csv, recipe, round => rounds.Writer.TryWrite(round), cancellationToken), cancellationToken);
                }
                finally
                {
                    rounds.Writer.Complete();
                }

                await reporting;
                var version = await RegisterAsync(tenantKey, job, recipe, dataset, trained, cancellationToken);
                await self.ReportStatusAsync("completed", null, JsonSerializer.Serialize(new
                {
                    version, trained.Metrics, trained.Features, trained.TrainingRows, trained.TestRows, onnxBytes = trained.Onnx.Length,
                }));
                LogCompleted(job.Id, version);
                return true;
            });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogCancelled(job.Id);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogFailed(e, job.Id);
            try
            {
                var reason = e is PhantomException problem ? problem.Detail : $"{e.GetType().Name}: {e.Message}";
                await internalCalls.AsComponentAsync("trainer", () => self.ReportStatusAsync("failed", reason.Length > 8000 ? reason[..8000] : reason, null));
            }
            catch (Exception report) when (report is not OutOfMemoryException)
            {
                LogNotReported(report, job.Id); // the watchdog fails it once it has been silent long enough
            }
        }
        finally
        {
            File.Delete(csv);
        }
    }

    private async Task ReportRoundsAsync(ChannelReader<RoundResult> rounds, string tenantKey, TrainingJobView job, TrainingRecipe recipe, ITrainingJobGrain self)
    {
        var metrics = grains.GetGrain<ITrainingMetricsGrain>(0);
        await foreach (var round in rounds.ReadAllAsync())
        {
            var finite = round.Metrics.Where(m => double.IsFinite(m.Value)).ToArray();
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await metrics.LogAsync(tenantKey, job.Id, new MetricBatch($"{job.Id:N}-{job.Attempt}-round-{round.Round}", [.. finite.Select(m => m.Key)],
                [.. Enumerable.Range(0, finite.Length)], [.. finite.Select(_ => (long)round.Round)], [.. finite.Select(m => m.Value)],
                [.. finite.Select(_ => now)]));
            await self.ReportProgressAsync(0.9 * round.Round / recipe.Rounds);
        }
    }

    private async Task<string> RegisterAsync(string tenantKey, TrainingJobView job, TrainingRecipe recipe, ArtifactView dataset, TrainedModel trained,
        CancellationToken cancellationToken)
    {
        var model = grains.GetGrain<IModelGrain>($"{tenantKey}/{job.ModelName}");
        var label = $"job-{job.Id:N}"[..16] + $"-a{job.Attempt}";
        double? Metric(string name) => trained.Metrics.TryGetValue(name, out var value) && double.IsFinite(value) ? Math.Clamp(value, 0, 1) : null;
        await model.RegisterVersionAsync(new RegisterVersion(label,
            Changelog: $"Trained by job '{job.JobName}' ({job.Id}, attempt {job.Attempt}): {recipe.Algorithm} {recipe.Task} on {job.DatasetUri} " +
                       $"(version {dataset.Version}, sha256 {dataset.Sha256[..12]}), {trained.TrainingRows} training and {trained.TestRows} test rows",
            Accuracy: Metric("accuracy"), Precision: Metric("precision"), Recall: Metric("recall"), F1: Metric("f1"),
            PerformanceMetrics: trained.Metrics.Where(m => double.IsFinite(m.Value)).ToDictionary()));

        var ticket = await model.PrepareArtifactUploadAsync(label, trained.Onnx.Length);
        await artifacts.PutAsync(ticket.ObjectKey, new MemoryStream(trained.Onnx, writable: false), trained.Onnx.Length, cancellationToken);
        await model.CompleteArtifactUploadAsync(ticket, trained.Onnx.Length, Convert.ToHexStringLower(SHA256.HashData(trained.Onnx)), null);

        try
        {
            await model.AddLineageAsync(recipe.DatasetModel, "derived", JsonSerializer.Serialize(new
            {
                trainingJob = job.Id, dataset = job.DatasetUri, datasetVersion = dataset.Version, datasetSha256 = dataset.Sha256, version = label,
            }));
        }
        catch (PhantomException e) when (e.Status == 409)
        {
            // An earlier run recorded the same edge: the model derives from that dataset already.
        }

        return label;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Training job {JobId} completed as version {Version}")]
    private partial void LogCompleted(Guid jobId, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Training job {JobId} stopped: cancelled")]
    private partial void LogCancelled(Guid jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Training job {JobId} failed")]
    private partial void LogFailed(Exception exception, Guid jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Training job {JobId}: could not report its failure")]
    private partial void LogNotReported(Exception exception, Guid jobId);
}
