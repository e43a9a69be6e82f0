using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Training;

/// <summary>
/// One built-in training run, end to end, as the platform's "trainer" component: fetch the dataset CSV from the
/// registry, train in rounds (each round's metrics go to ClickHouse and its progress to the job), export ONNX,
/// register it as a new version of the job's model with its metrics and the artifact, record lineage to the
/// dataset's model, and report the job completed; any failure reports it failed with the reason.
/// </summary>
public sealed partial class BuiltInRun(
    IGrainFactory grains,
    TrainingSql trainingSql,
    InternalCalls internalCalls,
    IArtifactStore artifacts,
    TenantLimits limits,
    IOptions<TrainingOptions> options,
    TenantResolver tenantResolver,
    ILogger<BuiltInRun> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Runs the job; returns when it has been reported completed or failed, or was cancelled.</summary>
    public async Task RunAsync(string tenantKey, TrainingJobView job, TrainingRecipe recipe, CancellationToken cancellationToken)
    {
        var self = grains.TrainingJob(tenantKey, job.Id);
        var folder = options.Value.WorkFolder ?? Path.Combine(Path.GetTempPath(), "phantom-training");
        Directory.CreateDirectory(folder);
        var csv = Path.Combine(folder, $"{job.Id:N}-{job.Attempt}.csv");
        try
        {
            await internalCalls.AsComponentAsync("trainer", async () =>
            {
                var dataset = await grains.Model(tenantKey, recipe.DatasetModel).GetArtifactAsync(recipe.DatasetVersion);
                await RequireWithinLimitsAsync(tenantKey, dataset);
                await artifacts.DownloadToFileAsync(dataset.StoragePath, csv, cancellationToken);
                // ML.NET reads a line whole: a dataset without line breaks would be one string of its whole size.
                foreach (var _ in BoundedLines.Read(csv))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                var search = SearchSpace.Parse(job.Config, recipe.Seed);
                var (trained, searchSummary) = search is null
                    ? (await TrainAsync(csv, tenantKey, job, recipe, self, "", 0, 0.9, _ => true, cancellationToken), null)
                    : await SearchAsync(csv, tenantKey, job, recipe, search, self, cancellationToken);
                var version = await RegisterAsync(tenantKey, job, recipe, dataset, trained, cancellationToken);
                await self.ReportStatusAsync("completed", null, JsonSerializer.Serialize(new
                {
                    version, trained.Metrics, trained.Features, trained.TrainingRows, trained.TestRows, onnxBytes = trained.Onnx!.Length,
                        search = searchSummary,
                }, Json));
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
                await internalCalls.AsComponentAsync("trainer",
                    () => self.ReportStatusAsync("failed", reason.Length > 8000 ? reason[..8000] : reason, null));
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

    /// <summary>One training run; its rounds' metrics go to ClickHouse under <paramref name="metricPrefix"/>, its progress to the job.</summary>
    private async Task<TrainedModel> TrainAsync(string csv, string tenantKey, TrainingJobView job, TrainingRecipe recipe, ITrainingJobGrain self,
        string metricPrefix, double progressFrom, double progressTo, Func<RoundResult, bool> keepGoing, CancellationToken cancellationToken)
    {
        var rounds = Channel.CreateUnbounded<RoundResult>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var reporting = ReportRoundsAsync(rounds.Reader, tenantKey, job, recipe, self, metricPrefix, progressFrom, progressTo);
        try
        {
            return await Task.Run(() => BuiltInTrainer.Train(csv, recipe, round =>
            {
                rounds.Writer.TryWrite(round);
                return keepGoing(round);
            }, cancellationToken), cancellationToken);
        }
        finally
        {
            rounds.Writer.Complete();
            await reporting;
        }
    }

    /// <summary>
    /// The search's trials one after another, each a training_experiments row with its own metrics (<c>trial-N/...</c>);
    /// the median rule stops a trial whose metric at a round is worse than the median of the finished trials at that
    /// round. The best finished trial by the search's metric is the job's model.
    /// </summary>
    private async Task<(TrainedModel Best, object Summary)> SearchAsync(string csv, string tenantKey, TrainingJobView job, TrainingRecipe recipe,
        SearchSpace search, ITrainingJobGrain self, CancellationToken cancellationToken)
    {
        var tenantId = await tenantResolver.ResolveAsync(tenantKey, cancellationToken) ?? throw PhantomException.NotFound("tenant", tenantKey);
        var finishedCurves = new List<double[]>();
        (int Trial, TrainedModel Model, IReadOnlyDictionary<string, double> Point)? best = null;
        var pruned = 0;
        for (var i = 0; i < search.Points.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var point = search.Points[i];
            var name = $"trial-{i + 1}";
            var experimentId = await trainingSql.InsertExperimentAsync(tenantId, job.Id, name, JsonSerializer.Serialize(point, Json));
            var curve = new List<double>();
            TrainedModel model;
            try
            {
                model = await TrainAsync(csv, tenantKey, job, recipe.With(point), self, $"{name}/", 0.9 * i / search.Points.Count,
                    0.9 * (i + 1) / search.Points.Count, round =>
                    {
                        var value = round.Metrics[search.Metric];
                        curve.Add(value);
                        var peers = finishedCurves.Where(c => c.Length >= round.Round).Select(c => c[round.Round - 1]).ToList();
                        return !search.MedianStopping || peers.Count < 2 || !search.Better(Median(peers), value);
                    }, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await trainingSql.FinishExperimentAsync(tenantId, experimentId, "failed", JsonSerializer.Serialize(new { error = e.Message }, Json));
                throw;
            }

            await trainingSql.FinishExperimentAsync(tenantId, experimentId, model.StoppedEarly ? "pruned" : "completed",
                JsonSerializer.Serialize(new { model.Metrics, model.Rounds }, Json));
            if (model.StoppedEarly)
            {
                pruned++;
                continue;
            }

            finishedCurves.Add([.. curve]);
            if (best is null || search.Better(model.Metrics[search.Metric], best.Value.Model.Metrics[search.Metric]))
            {
                best = (i + 1, model, point);
            }
        }

        var winner = best ?? throw new InvalidOperationException("Every trial was pruned.");
        return (winner.Model, new
        {
            search.Strategy, trials = search.Points.Count, pruned, search.Metric, direction = search.Maximize ? "maximize" : "minimize",
            bestTrial = $"trial-{winner.Trial}", bestParameters = winner.Point, bestValue = winner.Model.Metrics[search.Metric],
        });
    }

    /// <summary>The dataset is within the tenant's training_dataset_bytes (checked at creation too; the limit may have changed since).</summary>
    private async Task RequireWithinLimitsAsync(string tenantKey, ArtifactView dataset)
    {
        var tenantId = await tenantResolver.ResolveAsync(tenantKey) ?? throw PhantomException.NotFound("tenant", tenantKey);
        var limit = await limits.GetAsync(tenantId, Quotas.TrainingDatasetBytes);
        if (dataset.SizeBytes > limit)
        {
            throw PhantomException.TooLarge($"The dataset is {dataset.SizeBytes} bytes; a training run of this tenant reads at most {limit} " +
                $"({Quotas.TrainingDatasetBytes}).", Quotas.TrainingDatasetBytes);
        }
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }

    private async Task ReportRoundsAsync(ChannelReader<RoundResult> rounds, string tenantKey, TrainingJobView job, TrainingRecipe recipe,
        ITrainingJobGrain self, string metricPrefix, double progressFrom, double progressTo)
    {
        var metrics = grains.TrainingMetrics();
        await foreach (var round in rounds.ReadAllAsync())
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var batch = new MetricBatchBuilder(round.Metrics.Count);
            foreach (var (name, value) in round.Metrics.Where(m => double.IsFinite(m.Value)))
            {
                batch.Add(metricPrefix + name, value, round.Round, now);
            }

            await metrics.LogAsync(tenantKey, job.Id, batch.Build($"{job.Id:N}-{job.Attempt}-{metricPrefix}round-{round.Round}"));
            await self.ReportProgressAsync(progressFrom + ((progressTo - progressFrom) * round.Round / recipe.Rounds));
        }
    }

    private async Task<string> RegisterAsync(string tenantKey, TrainingJobView job, TrainingRecipe recipe, ArtifactView dataset, TrainedModel trained,
        CancellationToken cancellationToken)
    {
        var model = grains.Model(tenantKey, job.ModelName ?? throw new InvalidOperationException("A built-in job names its model."));
        var label = $"job-{job.Id:N}"[..16] + $"-a{job.Attempt}";
        double? Metric(string name) => trained.Metrics.TryGetValue(name, out var value) && double.IsFinite(value) ? Math.Clamp(value, 0, 1) : null;
        await model.RegisterVersionAsync(new RegisterVersion(label,
            Changelog: $"Trained by job '{job.JobName}' ({job.Id}, attempt {job.Attempt}): {recipe.Algorithm} {recipe.Task} on {job.DatasetUri} " +
                       $"(version {dataset.Version}, sha256 {dataset.Sha256[..12]}), {trained.TrainingRows} training and {trained.TestRows} test " +
                           $"rows",
            Accuracy: Metric("accuracy"), Precision: Metric("precision"), Recall: Metric("recall"), F1: Metric("f1"),
            PerformanceMetrics: trained.Metrics.Where(m => double.IsFinite(m.Value)).ToDictionary(), TrainingJobId: job.Id));

        var onnx = trained.Onnx ?? throw new InvalidOperationException("A run stopped early has no ONNX to register.");
        var ticket = await model.PrepareArtifactUploadAsync(label, onnx.Length);
        await artifacts.PutAsync(ticket.ObjectKey, new MemoryStream(onnx, writable: false), onnx.Length, cancellationToken);
        await model.CompleteArtifactUploadAsync(ticket.UploadId, onnx.Length, Convert.ToHexStringLower(SHA256.HashData(onnx)), null);

        try
        {
            await model.AddLineageAsync(recipe.DatasetModel, "derived", JsonSerializer.Serialize(new
            {
                trainingJob = job.Id, dataset = job.DatasetUri, datasetVersion = dataset.Version, datasetSha256 = dataset.Sha256, version = label,
            }, Json));
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
