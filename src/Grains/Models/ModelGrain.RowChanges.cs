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
        if (await TryCommitTogetherAsync(batch))
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
    /// state with every audit row in one transaction (also for a batch of one: two round trips instead of four). False,
    /// with nothing written, when a change turned out to be a replayed request or the row was not the one this
    /// activation holds: the batch then goes one change at a time, the path that answers replays.
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

        // The cached view goes before the change commits (see InvalidateCacheAsync), meanwhile the first round trip runs.
        var invalidated = applied.Count > 0 ? InvalidateCacheAsync() : Task.CompletedTask;

        // One round trip with every audit row and the UPDATE, a second to commit: row locks are held for two round trips.
        var statements = new List<Npgsql.NpgsqlBatchCommand>();
        if (rows.Count > 0)
        {
            statements.Add(AuditSql.RecordManyCommand(rows));
        }

        if (applied.Count > 0)
        {
            statements.Add(ModelSql.UpdateRowCommand(current, start.RowVersion, applied.Count));
        }

        var committed = statements.Count == 0 ? start : await database.InTenantBatchAsync(_tenantId, statements, async reader =>
        {
            var claims = rows.Count == 0 ? [] : await AuditSql.ReadClaimsAsync(reader, rows.Count);
            var updated = applied.Count == 0 ? start : await ModelSql.ReadUpdatedAsync(reader);
            await invalidated;
            // A replayed request, or a row this activation does not hold: nothing is kept, and the batch goes one at a time.
            return updated is null || applied.Any(row => claims[row] != AuditClaim.Recorded) ? (false, null) : (true, updated);
        });
        if (committed is null)
        {
            await ReloadAsync();
            return false;
        }

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

        await PublishAsync();
        return true;
    }
}
