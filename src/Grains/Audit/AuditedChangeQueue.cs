using PhantomMl.Grains.Common;

namespace PhantomMl.Grains.Audit;

/// <summary>
/// Group commit for a grain whose changes are written through <see cref="AuditedChanges"/> (tenant, training job): the
/// changes that wait for the activation are applied in arrival order in one transaction
/// (<see cref="AuditedChanges.ApplyTogetherAsync"/>), their follow-up work runs once, and each caller is answered as if
/// alone. Unlike the model grain's in-memory group commit, each change still runs its own statements, so any change the
/// grain makes can be queued; what the batch saves is the transaction per change, its commit, and repeated follow-ups
/// (a cluster-wide credential push per batch instead of per change).
/// </summary>
/// <remarks>Like <see cref="GroupCommit{TChange,TResult}"/>, used only from the activation's scheduler.</remarks>
public sealed class AuditedChangeQueue
{
    /// <summary>
    /// Each change of a batch is a subtransaction. PostgreSQL keeps the ids of up to 64 of them per session in shared
    /// memory; past that, every other session's snapshot checks go to disk until the batch commits.
    /// </summary>
    public const int MaxBatch = 64;

    private readonly GroupCommit<AuditedChange, object?> _queue = new(MaxBatch);

    /// <summary>
    /// Queues <paramref name="change"/> and answers its result once its batch has committed. <paramref name="scheduleDrain"/>
    /// makes the activation call <see cref="DrainAsync"/> as an ordinary call (see <see cref="GroupCommit{TChange,TResult}.SubmitAsync"/>).
    /// </summary>
    public async Task<T> SubmitAsync<T>(AuditedChange change, Func<Task> scheduleDrain) =>
        (T)(await _queue.SubmitAsync(change, scheduleDrain))!;

    /// <summary>
    /// Applies what waits, batch after batch: the body of the grain's drain call. <paramref name="discard"/> runs when a
    /// batch could not commit: the grain forgets any state its changes set on the way (their callers get the error).
    /// </summary>
    public Task DrainAsync(AuditedChanges changes, Action? discard = null) => _queue.DrainAsync(async batch =>
    {
        try
        {
            await CommitAsync(changes, batch);
        }
        catch
        {
            discard?.Invoke();
            throw;
        }
    });

    /// <summary>Answers every waiting change with <paramref name="error"/> (the activation is going away).</summary>
    public void FailAll(Exception error) => _queue.FailAll(error);

    private static async Task CommitAsync(AuditedChanges changes, IReadOnlyList<GroupCommit<AuditedChange, object?>.Waiting> batch)
    {
        var outcomes = await changes.ApplyTogetherAsync(batch[0].Change.TenantId, batch.Select(waiting => waiting.Change).ToList());
        foreach (var followUp in batch.Where((_, i) => outcomes[i].IsApplied).Select(waiting => waiting.Change.AfterCommit).OfType<Func<Task>>()
                     .Distinct())
        {
            await followUp();
        }

        for (var i = 0; i < batch.Count; i++)
        {
            var (change, answer) = batch[i];
            if (outcomes[i].Refusal is { } refusal)
            {
                answer.TrySetException(refusal);
                continue;
            }

            try
            {
                answer.TrySetResult(outcomes[i].Claim == AuditClaim.Recorded ? outcomes[i].Result
                    : await AuditedChanges.AnswerAppliedBeforeAsync(outcomes[i].Claim, change.Replay, change.Caller));
            }
            catch (Exception e)
            {
                answer.TrySetException(e);
            }
        }
    }
}
