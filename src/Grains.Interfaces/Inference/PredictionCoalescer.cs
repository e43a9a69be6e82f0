using System.Collections.Concurrent;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// Coalesces concurrent predictions of one lane (one caller, one version) into one grain call
/// (<see cref="IPredictionGrain.PredictManyAsync"/>). Used by the SDK and by the HTTP front end.
/// There is no timer: a prediction that finds fewer than <see cref="MaxInFlight"/> calls in flight for its lane is sent
/// at once (alone, when it is alone); predictions that arrive while those calls are out wait, and the next call takes
/// them all. So a lone caller pays nothing, and sixty-four callers cost a few grain calls instead of sixty-four. Each
/// prediction is still checked, charged, recorded and answered by the silo as if sent alone.
/// </summary>
/// <remarks>
/// A lane exists only while something is waiting or in flight in it: the last sender to find it idle retires it, so
/// the lanes of callers that come and go (every API key, client address and user agent of the HTTP front end) are not
/// kept.
/// </remarks>
public sealed class PredictionCoalescer<TLane>(Func<TLane, IReadOnlyList<PredictRequest>, Task<IReadOnlyList<PredictOutcome>>> send)
    where TLane : notnull
{
    /// <summary>Calls one lane may have in flight at once: more waiting predictions join the next one.</summary>
    public const int MaxInFlight = 4;

    private readonly ConcurrentDictionary<TLane, Lane> _lanes = new();

    /// <summary>Lanes with something waiting or in flight.</summary>
    public int ActiveLanes => _lanes.Count;

    /// <summary>Queues <paramref name="request"/> in its lane; answers with its own prediction or its own refusal.</summary>
    public Task<PredictionView> PredictAsync(TLane laneKey, PredictRequest request)
    {
        var waiting = new Waiting(request, new TaskCompletionSource<PredictionView>(TaskCreationOptions.RunContinuationsAsynchronously));
        while (true)
        {
            var lane = _lanes.GetOrAdd(laneKey, _ => new Lane());
            switch (lane.Enqueue(waiting))
            {
                case Enqueued.Retired:
                    continue; // retired between the lookup and the enqueue: a new lane takes it
                case Enqueued.Send:
                    _ = SendAsync(laneKey, lane);
                    break;
            }

            return waiting.Answer.Task;
        }
    }

    /// <summary>Sends what waits, call after call, until nothing does; then gives its place in flight back.</summary>
    private async Task SendAsync(TLane laneKey, Lane lane)
    {
        while (lane.Take() is { Count: > 0 } batch)
        {
            try
            {
                var outcomes = await send(laneKey, [.. batch.Select(waiting => waiting.Request)]);
                for (var i = 0; i < batch.Count; i++)
                {
                    if (outcomes[i].Prediction is { } prediction)
                    {
                        batch[i].Answer.TrySetResult(prediction);
                    }
                    else
                    {
                        batch[i].Answer.TrySetException((Exception?)outcomes[i].Refusal
                            ?? new InvalidOperationException("The silo answered neither a prediction nor a refusal."));
                    }
                }
            }
            catch (Exception e)
            {
                batch.ForEach(waiting => waiting.Answer.TrySetException(e));
            }
        }

        // The last sender out retired the lane (see Take): a later prediction for the same key starts a new one.
        if (lane.Retired)
        {
            _lanes.TryRemove(new KeyValuePair<TLane, Lane>(laneKey, lane));
        }
    }

    private sealed record Waiting(PredictRequest Request, TaskCompletionSource<PredictionView> Answer);

    private enum Enqueued { Wait, Send, Retired }

    /// <summary>The predictions waiting in one lane, and how many calls of it are in flight. A short lock guards both.</summary>
    private sealed class Lane
    {
        private readonly Queue<Waiting> _queue = new();
        private int _sending;
        private bool _retired;

        /// <summary>Nothing waits or is in flight, and nothing will be queued here again.</summary>
        public bool Retired
        {
            get
            {
                lock (_queue)
                {
                    return _retired;
                }
            }
        }

        public Enqueued Enqueue(Waiting waiting)
        {
            lock (_queue)
            {
                if (_retired)
                {
                    return Enqueued.Retired;
                }

                _queue.Enqueue(waiting);
                if (_sending >= MaxInFlight)
                {
                    return Enqueued.Wait;
                }

                _sending++;
                return Enqueued.Send;
            }
        }

        /// <summary>The next batch; none gives the sender's place back, and retires the lane when it was the last one.</summary>
        public List<Waiting> Take()
        {
            lock (_queue)
            {
                var batch = new List<Waiting>(Math.Min(_queue.Count, IPredictionGrain.MaxRequests));
                while (batch.Count < IPredictionGrain.MaxRequests && _queue.TryDequeue(out var waiting))
                {
                    batch.Add(waiting);
                }

                if (batch.Count == 0 && --_sending == 0)
                {
                    _retired = true;
                }

                return batch;
            }
        }
    }
}
