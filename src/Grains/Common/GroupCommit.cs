namespace PhantomMl.Grains.Common;

/// <summary>
/// Group commit for a grain that owns an entity. A lock can only let writers through one at a time; the activation that
/// owns the row can see every writer waiting at once and commit them together. Writers arrive as interleaving calls
/// (they do nothing but authenticate and wait here, in arrival order). The first to find nothing draining asks the
/// activation for one ordinary, non-interleaving call of its own (<c>scheduleDrain</c>), which takes everything waiting
/// and commits it as one batch, then the next batch, until nothing waits. Since the drain is an ordinary call, it never
/// overlaps another one: the activation is still the only writer, and a batch of sixty-four costs one transaction.
/// </summary>
/// <remarks>Not thread-safe, and need not be: every method runs on the activation's single-threaded scheduler.</remarks>
/// <param name="maxBatch">The most changes one transaction takes: bounds its size and the time its rows stay locked.</param>
public sealed class GroupCommit<TChange, TResult>(int maxBatch = 256)
{
    private List<Waiting> _waiting = [];
    private bool _draining;
    private long _drainsStarted;

    /// <summary>A change waiting for its batch, and where its caller's answer goes.</summary>
    public sealed record Waiting(TChange Change, TaskCompletionSource<TResult> Answer);

    /// <summary>
    /// Queues <paramref name="change"/> and answers when its batch has committed (or refused it). When nothing drains,
    /// <paramref name="scheduleDrain"/> is called: it must make the activation call <see cref="DrainAsync"/> as an
    /// ordinary call (a call to itself), and completes when that call has.
    /// </summary>
    public Task<TResult> SubmitAsync(TChange change, Func<Task> scheduleDrain)
    {
        var answer = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting.Add(new Waiting(change, answer));
        if (!_draining)
        {
            _draining = true;
            _ = ObserveDrainAsync(scheduleDrain);
        }

        return answer.Task;
    }

    /// <summary>
    /// Commits what waits, batch after batch, until nothing does. <paramref name="commit"/> answers every change of
    /// the batch it is given; one it leaves unanswered gets its exception, or a retryable 503 when it returned normally.
    /// </summary>
    public async Task DrainAsync(Func<IReadOnlyList<Waiting>, Task> commit)
    {
        _drainsStarted++;
        try
        {
            while (_waiting.Count > 0)
            {
                var batch = Take();
                try
                {
                    await commit(batch);
                    Fail(batch, Unanswered());
                }
                catch (Exception e)
                {
                    Fail(batch, e);
                }
            }
        }
        finally
        {
            _draining = false;
        }
    }

    /// <summary>Answers every waiting change with <paramref name="error"/> (the activation is going away).</summary>
    public void FailAll(Exception error)
    {
        var waiting = _waiting;
        _waiting = [];
        Fail(waiting, error);
    }

    private List<Waiting> Take()
    {
        if (_waiting.Count <= maxBatch)
        {
            var all = _waiting;
            _waiting = [];
            return all;
        }

        var batch = _waiting.GetRange(0, maxBatch);
        _waiting.RemoveRange(0, maxBatch);
        return batch;
    }

    /// <summary>
    /// Waits for the drain call. If it completed without draining here (the call failed, or reached another activation
    /// of the grain because this one is going away), the changes waiting here would never be answered: they fail.
    /// </summary>
    private async Task ObserveDrainAsync(Func<Task> scheduleDrain)
    {
        var drainsBefore = _drainsStarted;
        Exception? error = null;
        try
        {
            await scheduleDrain();
        }
        catch (Exception e)
        {
            error = e;
        }

        if (_drainsStarted == drainsBefore)
        {
            _draining = false;
            FailAll(error ?? Unanswered());
        }
    }

    private static void Fail(IEnumerable<Waiting> waiting, Exception error)
    {
        foreach (var item in waiting)
        {
            item.Answer.TrySetException(error);
        }
    }

    private static PhantomException Unanswered() =>
        PhantomException.Unavailable(ProblemTypes.SiloStopping, "Not applied",
            "The change was not applied: its grain was moving or stopping. Send it again.");
}
