using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Models;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// Dynamic micro-batching per model on this silo: concurrent requests for the same version are scored together in
/// one ONNX Runtime call (up to <see cref="InferenceOptions.MaxBatchRows"/> rows, waiting at most
/// <see cref="InferenceOptions.MaxBatchDelay"/> for company), so throughput grows with load. Each request's rows are
/// checked before they join, so one bad request never fails the others.
/// </summary>
public sealed class MicroBatcher(OnnxModelCache models, IOptions<InferenceOptions> options)
{
    private readonly ConcurrentDictionary<string, Channel<Request>> _queues = new();

    /// <summary>Checks rows against the artifact's model (loading it if needed); 400 naming the first row that does not fit.</summary>
    public Task ValidateAsync(ArtifactView artifact, IReadOnlyList<IReadOnlyDictionary<string, double>> rows) =>
        models.WithModelAsync(artifact, model =>
        {
            model.Validate(rows);
            return true;
        });

    /// <summary>Scores <paramref name="rows"/> with the artifact's model, batched with whatever else is waiting.</summary>
    public async Task<IReadOnlyList<RowPrediction>> PredictAsync(ArtifactView artifact, IReadOnlyList<IReadOnlyDictionary<string, double>> rows)
    {
        await ValidateAsync(artifact, rows);
        return await ScoreAsync(artifact, rows);
    }

    /// <summary>Scores rows already checked by <see cref="ValidateAsync"/>, batched with whatever else is waiting.</summary>
    public async Task<IReadOnlyList<RowPrediction>> ScoreAsync(ArtifactView artifact, IReadOnlyList<IReadOnlyDictionary<string, double>> rows)
    {
        if (rows.Count >= options.Value.MaxBatchRows)
        {
            return await models.WithModelAsync(artifact, model => model.Run(rows)); // a batch by itself
        }

        var request = new Request(rows, new TaskCompletionSource<IReadOnlyList<RowPrediction>>(TaskCreationOptions.RunContinuationsAsynchronously));
        var queue = _queues.GetOrAdd(artifact.Sha256, _ => Start(artifact));
        await queue.Writer.WriteAsync(request);
        return await request.Done.Task;
    }

    private Channel<Request> Start(ArtifactView artifact)
    {
        var queue = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });
        _ = Task.Run(() => ServeAsync(artifact, queue.Reader));
        return queue;
    }

    private async Task ServeAsync(ArtifactView artifact, ChannelReader<Request> queue)
    {
        var settings = options.Value;
        while (await queue.WaitToReadAsync())
        {
            var batch = new List<Request>();
            var rows = 0;
            var deadline = DateTime.UtcNow + settings.MaxBatchDelay;
            while (rows < settings.MaxBatchRows)
            {
                if (queue.TryRead(out var next))
                {
                    batch.Add(next);
                    rows += next.Rows.Count;
                    continue;
                }

                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    break;
                }

                using var wait = new CancellationTokenSource(left);
                try
                {
                    await queue.WaitToReadAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            try
            {
                var all = batch.SelectMany(request => request.Rows).ToList();
                var scored = await models.WithModelAsync(artifact, model => model.Run(all));
                var offset = 0;
                foreach (var request in batch)
                {
                    request.Done.TrySetResult(scored.Skip(offset).Take(request.Rows.Count).ToList());
                    offset += request.Rows.Count;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                batch.ForEach(request => request.Done.TrySetException(e));
            }
        }
    }

    private sealed record Request(IReadOnlyList<IReadOnlyDictionary<string, double>> Rows, TaskCompletionSource<IReadOnlyList<RowPrediction>> Done);
}
