using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Models;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// Dynamic micro-batching per model on this silo: concurrent requests for the same version are scored together in
/// one ONNX Runtime call (up to <see cref="InferenceOptions.MaxBatchRows"/> rows), so throughput grows with load.
/// There is no batching thread: the request that finds the model idle becomes the leader, takes every request
/// waiting (its own included), scores them, answers them, and goes on while more wait; requests arriving meanwhile
/// form the next batch. A lone request is therefore scored at once on its own thread, without a hand-off; under load
/// batches form while the previous one runs. <see cref="InferenceOptions.MaxBatchDelay"/>, when set, makes a leader
/// whose batch is not full wait that long for company once (an asynchronous wait, no thread held). Each request's
/// rows are checked before they join, so one bad request never fails the others.
/// </summary>
public sealed class MicroBatcher(OnnxModelCache models, IOptions<InferenceOptions> options)
{
    private readonly ConcurrentDictionary<(Guid Tenant, string Sha), Queue> _queues = new();
    private long _batches;
    private long _requests;

    /// <summary>ONNX Runtime calls made for batched requests on this silo since it started.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Requests those calls answered: divided by <see cref="Batches"/>, the mean batch size.</summary>
    public long BatchedRequests => Interlocked.Read(ref _requests);

    /// <summary>Checks rows against the artifact's model (loading it if needed); 400 naming the first row that does not fit.</summary>
    public Task ValidateAsync(ModelOwner owner, ArtifactView artifact, IReadOnlyList<IReadOnlyDictionary<string, double>> rows) =>
        models.WithModelAsync(owner, artifact, model =>
        {
            model.Validate(rows);
            return true;
        });

    /// <summary>The inputs the artifact's model expects (loading it if needed).</summary>
    public Task<IReadOnlyList<ModelInput>> DescribeAsync(ModelOwner owner, ArtifactView artifact) => models.WithModelAsync(owner, artifact,
        model => model.Inputs);

    /// <summary>Scores <paramref name="rows"/> with the artifact's model, batched with whatever else is waiting.</summary>
    public async Task<IReadOnlyList<RowPrediction>> PredictAsync(ModelOwner owner, ArtifactView artifact,
        IReadOnlyList<IReadOnlyDictionary<string, double>> rows)
    {
        await ValidateAsync(owner, artifact, rows);
        return await ScoreAsync(owner, artifact, rows);
    }

    /// <summary>Scores rows already checked by <see cref="ValidateAsync"/>, batched with whatever else is waiting.</summary>
    public async Task<IReadOnlyList<RowPrediction>> ScoreAsync(ModelOwner owner, ArtifactView artifact,
        IReadOnlyList<IReadOnlyDictionary<string, double>> rows)
    {
        if (rows.Count >= options.Value.MaxBatchRows)
        {
            return await models.WithModelAsync(owner, artifact, model => model.Run(rows)); // a batch by itself
        }

        // Per tenant: two tenants' requests never share a batch, even for the same bytes.
        var queue = _queues.GetOrAdd((owner.TenantId, artifact.Sha256), _ => new Queue());
        var request = new Request(rows, new TaskCompletionSource<IReadOnlyList<RowPrediction>>(TaskCreationOptions.RunContinuationsAsynchronously));
        queue.Waiting.Enqueue(request);
        if (queue.TryLead())
        {
            await LeadAsync(owner, artifact, queue, request.Done.Task);
        }

        // Answered by a batch this request led (already complete) or by another leader's.
        return await request.Done.Task;
    }

    /// <summary>
    /// Scores batches while holding the lead. A leader serving its own caller stops once that caller has its answer
    /// and hands the lead to a thread-pool task if others still wait; after stepping down it looks at the queue once
    /// more, so a request that arrived while it was finishing is never left without a leader.
    /// </summary>
    private async Task LeadAsync(ModelOwner owner, ArtifactView artifact, Queue queue, Task? own)
    {
        while (true)
        {
            try
            {
                while (!queue.Waiting.IsEmpty && own is not { IsCompleted: true })
                {
                    await ScoreBatchAsync(owner, artifact, queue);
                }
            }
            finally
            {
                queue.StepDown();
            }

            if (queue.Waiting.IsEmpty || !queue.TryLead())
            {
                return; // nothing waits, or another request leads
            }

            if (own is { IsCompleted: true })
            {
                _ = Task.Run(() => LeadAsync(owner, artifact, queue, own: null)); // this caller has its answer: pass the lead on
                return;
            }
        }
    }

    /// <summary>Takes waiting requests up to the batch size, scores them in one call, and answers each.</summary>
    private async Task ScoreBatchAsync(ModelOwner owner, ArtifactView artifact, Queue queue)
    {
        var settings = options.Value;
        var batch = new List<Request>();
        var rows = Take(queue, batch, 0, settings.MaxBatchRows);
        if (rows < settings.MaxBatchRows && settings.MaxBatchDelay > TimeSpan.Zero)
        {
            await Task.Delay(settings.MaxBatchDelay); // not full: give others a moment to join (no thread is held)
            rows = Take(queue, batch, rows, settings.MaxBatchRows);
        }

        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            var all = new List<IReadOnlyDictionary<string, double>>(rows);
            batch.ForEach(request => all.AddRange(request.Rows));
            var scored = await models.WithModelAsync(owner, artifact, model => model.Run(all));
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _requests, batch.Count);
            var offset = 0;
            foreach (var request in batch)
            {
                request.Done.TrySetResult(scored.Skip(offset).Take(request.Rows.Count).ToArray());
                offset += request.Rows.Count;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            batch.ForEach(request => request.Done.TrySetException(e));
        }
    }

    /// <summary>Moves waiting requests into the batch while their rows fit; returns the batch's row count.</summary>
    private static int Take(Queue queue, List<Request> batch, int rows, int maxRows)
    {
        while (queue.Waiting.TryPeek(out var next) && (batch.Count == 0 || rows + next.Rows.Count <= maxRows) && queue.Waiting.TryDequeue(out next))
        {
            batch.Add(next);
            rows += next.Rows.Count;
        }

        return rows;
    }

    /// <summary>The requests waiting for one model, and whether one of them is scoring (the leader).</summary>
    private sealed class Queue
    {
        private int _leading;

        public ConcurrentQueue<Request> Waiting { get; } = new();

        public bool TryLead() => Interlocked.CompareExchange(ref _leading, 1, 0) == 0;

        public void StepDown() => Interlocked.Exchange(ref _leading, 0); // a full fence: the queue is looked at after it
    }

    private sealed record Request(IReadOnlyList<IReadOnlyDictionary<string, double>> Rows, TaskCompletionSource<IReadOnlyList<RowPrediction>> Done);
}
