using System.Collections.Concurrent;
using PhantomMl.Grains.Inference;

namespace PhantomMl.Client;

/// <summary>
/// Coalesces concurrent predictions for the same version into one grain call (<see cref="IPredictionGrain.PredictManyAsync"/>).
/// There is no timer: a prediction that finds fewer than <see cref="MaxInFlight"/> calls in flight for its version is sent
/// at once (alone, when it is alone); predictions that arrive while those calls are out wait, and the next call takes
/// them all. So a lone caller pays nothing, and sixty-four callers cost a few grain calls instead of sixty-four. Each
/// prediction is still checked, charged, recorded and answered by the silo as if sent alone.
/// </summary>
internal sealed class PredictionCoalescer(Func<(string TenantKey, string Model, string Version), IReadOnlyList<PredictRequest>,
    Task<IReadOnlyList<PredictOutcome>>> send)
{
    /// <summary>Calls one version may have in flight at once from this client: more waiting predictions join the next one.</summary>
    public const int MaxInFlight = 4;

    private readonly ConcurrentDictionary<(string TenantKey, string Model, string Version), Lane> _lanes = new();

    public Task<PredictionView> PredictAsync((string TenantKey, string Model, string Version) version, PredictRequest request)
    {
        var lane = _lanes.GetOrAdd(version, _ => new Lane());
        var waiting = new Waiting(request, new TaskCompletionSource<PredictionView>(TaskCreationOptions.RunContinuationsAsynchronously));
        lane.Queue.Enqueue(waiting);
        if (lane.TrySend())
        {
            _ = SendAsync(version, lane);
        }

        return waiting.Answer.Task;
    }

    /// <summary>Sends what waits, call after call, until nothing does; then lets go of its place in flight.</summary>
    private async Task SendAsync((string TenantKey, string Model, string Version) version, Lane lane)
    {
        while (true)
        {
            try
            {
                while (Take(lane) is { Count: > 0 } batch)
                {
                    try
                    {
                        var outcomes = await send(version, [.. batch.Select(waiting => waiting.Request)]);
                        for (var i = 0; i < batch.Count; i++)
                        {
                            if (outcomes[i].Prediction is { } prediction)
                            {
                                batch[i].Answer.TrySetResult(prediction);
                            }
                            else
                            {
                                batch[i].Answer.TrySetException((Exception?)outcomes[i].Refusal ?? new InvalidOperationException("The silo answered neither a prediction nor a refusal."));
                            }
                        }
                    }
                    catch (Exception e)
                    {
                        batch.ForEach(waiting => waiting.Answer.TrySetException(e));
                    }
                }
            }
            finally
            {
                lane.Done();
            }

            // A prediction that arrived after the queue looked empty, while every place was still taken, needs a sender.
            if (lane.Queue.IsEmpty || !lane.TrySend())
            {
                return;
            }
        }
    }

    private static List<Waiting> Take(Lane lane)
    {
        var batch = new List<Waiting>();
        while (batch.Count < IPredictionGrain.MaxRequests && lane.Queue.TryDequeue(out var waiting))
        {
            batch.Add(waiting);
        }

        return batch;
    }

    private sealed record Waiting(PredictRequest Request, TaskCompletionSource<PredictionView> Answer);

    /// <summary>The predictions waiting for one version, and how many calls for it are in flight.</summary>
    private sealed class Lane
    {
        private int _sending;

        public ConcurrentQueue<Waiting> Queue { get; } = new();

        public bool TrySend()
        {
            while (true)
            {
                var sending = Volatile.Read(ref _sending);
                if (sending >= MaxInFlight)
                {
                    return false;
                }

                if (Interlocked.CompareExchange(ref _sending, sending + 1, sending) == sending)
                {
                    return true;
                }
            }
        }

        public void Done() => Interlocked.Decrement(ref _sending); // a full fence: the queue is looked at after it
    }
}
