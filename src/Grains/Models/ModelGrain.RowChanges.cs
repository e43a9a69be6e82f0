using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Models;

/// <summary>
/// Changes to the model row itself (update, status) go through a group commit: the calls interleave only to authorize
/// their caller and queue; <see cref="CommitRowChangesAsync"/>, an ordinary call of this activation, applies everything
/// queued in arrival order and commits it in one transaction with every audit row. Each caller gets exactly the answer
/// it would have had alone: its own ETag, its own 412, its own validation error.
/// </summary>
public sealed partial class ModelGrain
{
    /// <summary>A change to the model row, authorized, waiting for its batch.</summary>
    private sealed record RowChange(TenantAccess Access, AuditEvent Audit, long? ExpectedETag, Func<ModelRecord, ModelRecord> Change);

    /// <summary>Thrown inside a batch's transaction to roll it back and apply the batch one change at a time instead.</summary>
    private sealed class OneAtATime : Exception;

    /// <inheritdoc />
    public Task CommitRowChangesAsync() => _rowChanges.DrainAsync(CommitAsync);

    private async Task<ModelView> ChangeModelAsync(string action, long? expectedETag, object? details, Func<ModelRecord, ModelRecord> change)
    {
        var audit = Event(action, Details: details);
        // This call interleaves with whatever the activation is doing (see IModelGrain), so it touches no state but the
        // queue: it authorizes (refusals are audited here, as for every call) and waits for its batch.
        var access = await guard.AuthorizeAsync(_tenantKey, Permissions.ModelsWrite, audit);
        return await _rowChanges.SubmitAsync(new RowChange(access, audit, expectedETag, change),
            () => this.AsReference<IModelGrain>().CommitRowChangesAsync());
    }

    private async Task CommitAsync(IReadOnlyList<GroupCommit<RowChange, ModelView>.Waiting> batch)
    {
        await EnsureLoadedAsync(batch[0].Change.Access.TenantId);
        if (batch.Count > 1 && await TryCommitTogetherAsync(batch))
        {
            return;
        }

        foreach (var waiting in batch)
        {
            try
            {
                waiting.Answer.TrySetResult(await ApplyOneAsync(waiting.Change));
            }
            catch (Exception e)
            {
                waiting.Answer.TrySetException(e);
            }
        }
    }

    /// <summary>One change alone: the path every change took before group commit, and the fallback of a batch.</summary>
    private async Task<ModelView> ApplyOneAsync(RowChange change)
    {
        var model = Model;
        // A stale ETag is answered at once, before any database work: under contention most attempts are stale.
        // It changes nothing and refuses nothing, so it leaves no audit row.
        var expected = change.ExpectedETag ?? model.RowVersion;
        RequireETag(expected);
        await InvalidateCacheAsync();
        // The UPDATE returns the committed row, and these changes leave the aliases alone: no reload is needed.
        _model = await changes.ApplyAsync(change.Access.Caller, _tenantId, change.Audit, async (connection, transaction) =>
                await modelSql.UpdateAsync(connection, transaction, change.Change(model), expected) ?? throw PhantomException.PreconditionFailed(model.RowVersion),
            replay: () => Task.FromResult(Model));
        await PublishAsync();
        return View();
    }

    /// <summary>
    /// Applies the batch's changes in memory, in order, each to the state the previous one left, and commits the last
    /// state with every audit row in one transaction. False, with nothing written, when a change turned out to be a
    /// replayed request or the row was not the one this activation holds: the batch then goes one change at a time.
    /// </summary>
    private async Task<bool> TryCommitTogetherAsync(IReadOnlyList<GroupCommit<RowChange, ModelView>.Waiting> batch)
    {
        var start = Model;
        var current = start;
        var outcomes = new (ModelRecord? After, Exception? Refusal)[batch.Count];
        var rows = new List<PendingAuditRow>(batch.Count);
        var applied = new List<int>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var change = batch[i].Change;
            var caller = change.Access.Caller;
            if ((change.ExpectedETag ?? current.RowVersion) != current.RowVersion)
            {
                outcomes[i] = (null, PhantomException.PreconditionFailed(current.RowVersion)); // no audit row, as alone
                continue;
            }

            try
            {
                current = change.Change(current) with { RowVersion = current.RowVersion + 1 };
                outcomes[i] = (current, null);
                applied.Add(rows.Count);
                rows.Add(new PendingAuditRow(caller.UserId, caller.Client, change.Audit));
            }
            catch (PhantomException refusal)
            {
                outcomes[i] = (null, refusal);
                if (AuditedChanges.IsAudited(refusal))
                {
                    var attempt = AuditedChanges.AttemptOf(change.Audit, refusal);
                    rows.Add(new PendingAuditRow(caller.UserId, caller.Client, attempt, AuditSql.AttemptSuffix(attempt)));
                }
            }
        }

        if (applied.Count > 0)
        {
            await InvalidateCacheAsync();
        }

        try
        {
            var committed = await database.InTenantAsync(_tenantId, async (connection, transaction) =>
            {
                var claims = rows.Count == 0 ? [] : await auditSql.RecordManyAsync(connection, transaction, _tenantId, rows);
                if (applied.Any(row => claims[row] != AuditClaim.Recorded))
                {
                    throw new OneAtATime();
                }

                return applied.Count == 0 ? start
                    : await modelSql.UpdateAsync(connection, transaction, current, start.RowVersion, changes: applied.Count) ?? throw new OneAtATime();
            });
            _model = committed;
            for (var i = 0; i < batch.Count; i++)
            {
                if (outcomes[i].After is { } after)
                {
                    // Every change of the batch committed at the same moment: its own state, the commit's time.
                    batch[i].Answer.TrySetResult(after.RowVersion == committed.RowVersion
                        ? View()
                        : (after with { UpdatedAt = committed.UpdatedAt }).ToView(_aliases, _traffic));
                }
                else
                {
                    batch[i].Answer.TrySetException(outcomes[i].Refusal!);
                }
            }
        }
        catch (OneAtATime)
        {
            await ReloadAsync();
            return false;
        }

        await PublishAsync();
        return true;
    }
}
