using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Audit;

/// <summary>
/// How every state change is written: the change and its audit row in one transaction of the tenant, so a committed
/// change always has its row and a failed one has neither. The caller's request id is the audit event id: the same
/// caller sending the same request again (a retry) finds it applied, so nothing is written and <c>replay</c> answers;
/// the same caller sending the key with a different request gets 422. A refusal or failure inside the change rolls it
/// back and is audited as an attempt of its own.
/// </summary>
public sealed class AuditedChanges(TenantDatabase database, AuditSql auditSql)
{
    /// <summary>Applies <paramref name="change"/> for <paramref name="caller"/> in <paramref name="tenantId"/>.</summary>
    /// <param name="caller">Who asks; their request id is the event id.</param>
    /// <param name="tenantId">The tenant whose data changes.</param>
    /// <param name="audit">What the audit row says.</param>
    /// <param name="change">The change, run after the audit row is claimed, in the same transaction.</param>
    /// <param name="replay">What to answer when the request was applied before; null answers 409.</param>
    /// <param name="failureTenantId">Where a refusal is audited when not in <paramref name="tenantId"/> (a tenant that does not exist yet).</param>
    /// <param name="eventIdSuffix">Tells apart a second change made by the same request (its event id is the request id plus this).</param>
    public async Task<T> ApplyAsync<T>(Caller caller, Guid tenantId, AuditEvent audit,
        Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> change, Func<Task<T>>? replay = null, Guid? failureTenantId = null,
            string? eventIdSuffix = null)
    {
        try
        {
            var (claim, result) = await database.InTenantAsync(tenantId, async (connection, transaction) =>
                await auditSql.RecordAsync(connection, transaction, tenantId, caller.UserId, caller.Client, audit, eventIdSuffix) is var claimed
                && claimed == AuditClaim.Recorded
                    ? (claimed, await change(connection, transaction))
                    : (claimed, default(T)));
            return claim == AuditClaim.Recorded ? result! : await AnswerAppliedBeforeAsync(claim, replay, caller);
        }
        catch (Exception e) when (AttemptOf(audit, e) is { Row: { } row } attempt)
        {
            await auditSql.RecordAloneAsync(failureTenantId ?? tenantId, caller.UserId, caller.Client, row);
            if (attempt.Answer == e)
            {
                throw;
            }

            throw attempt.Answer;
        }
    }

    /// <summary>
    /// What a request whose audit claim found it applied before is answered: <paramref name="replay"/> for a replay (409
    /// without one), 422 for an idempotency key reused with another request.
    /// </summary>
    public static async Task<T> AnswerAppliedBeforeAsync<T>(AuditClaim claim, Func<Task<T>>? replay, Caller caller) => claim == AuditClaim.Replay
        ? replay is null ? throw PhantomException.Conflict("This request was applied before.") : await replay()
        : throw PhantomException.IdempotencyKeyReused(caller.Client.RequestId);

    /// <summary>
    /// The audit row an attempt that threw leaves, and what its caller is answered: a refusal as itself (none for 401
    /// and 404, audited where they were decided), a database error as the problem it means; anything else no row.
    /// </summary>
    private static (AuditEvent? Row, Exception Answer) AttemptOf(AuditEvent audit, Exception error) => error switch
    {
        PhantomException refusal when IsAudited(refusal) => (AttemptOf(audit, refusal), refusal),
        PostgresException e when DatabaseErrors.AsProblem(e) is { } problem => (
            audit.As(AuditEvent.Failure, new { status = problem.Status, error = e.SqlState, constraint = e.ConstraintName }),
            problem.Status == 409 ? PhantomException.Conflict($"{audit.ResourceType} '{audit.ResourceId}' exists already.") : problem),
        _ => (null, error),
    };

    /// <summary>
    /// Applies <paramref name="batch"/> (all of <paramref name="tenantId"/>) in arrival order in one transaction, each
    /// change exactly as <see cref="ApplyAsync{T}"/> applies it alone: its audit claim, then its change, each seeing what
    /// the ones before it wrote. A change that is refused or fails is rolled back to the savepoint taken before it, and
    /// its attempt row is written in its place, so the others go on. One commit for the batch. Returns each change's
    /// outcome; nothing is committed when this throws (the connection failed).
    /// </summary>
    public async Task<AuditedOutcome[]> ApplyTogetherAsync(Guid tenantId, IReadOnlyList<AuditedChange> batch)
    {
        var outcomes = new AuditedOutcome[batch.Count];
        await database.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            for (var i = 0; i < batch.Count; i++)
            {
                var change = batch[i];
                if (change.TenantId != tenantId)
                {
                    throw new InvalidOperationException("A batch of audited changes belongs to one tenant.");
                }

                // Not released after: RELEASE would cost a round trip and free nothing (a written subtransaction keeps its
                // id until the commit either way).
                await transaction.SaveAsync("change");
                try
                {
                    var claim = change.Audit is null ? AuditClaim.Recorded
                        : await auditSql.RecordAsync(connection, transaction, tenantId, change.Caller.UserId, change.Caller.Client, change.Audit,
                            change.EventIdSuffix);
                    outcomes[i] = claim == AuditClaim.Recorded ? AuditedOutcome.Applied(await change.Apply(connection, transaction))
                        : new AuditedOutcome(claim, null, null);
                }
                catch (Exception e) when (e is PostgresException or not NpgsqlException)
                {
                    await transaction.RollbackAsync("change");
                    outcomes[i] = AuditedOutcome.Refused(await RecordAttemptAsync(connection, transaction, tenantId, change, e));
                }
            }

            return outcomes;
        });
        return outcomes;
    }

    /// <summary>What a change of a batch that threw answers, with its attempt's row written as <see cref="ApplyAsync{T}"/> writes it.</summary>
    private async Task<Exception> RecordAttemptAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId,
        AuditedChange change, Exception error)
    {
        var (row, answer) = change.Audit is null ? (null, error) : AttemptOf(change.Audit, error);
        if (row is not null)
        {
            await auditSql.RecordAsync(connection, transaction, tenantId, change.Caller.UserId, change.Caller.Client, row, AuditSql.AttemptSuffix(row));
        }

        return answer;
    }

    /// <summary>Whether a refusal inside a change is audited: 401 and 404 were audited where they were decided.</summary>
    public static bool IsAudited(PhantomException refusal) => refusal.Status is not (401 or 404);

    /// <summary>The row of an attempt the change refused: denied for a quota, failed otherwise, with the reason.</summary>
    public static AuditEvent AttemptOf(AuditEvent audit, PhantomException refusal) =>
        audit.As(refusal.Status == 429 ? AuditEvent.Denied : AuditEvent.Failure, new { status = refusal.Status, error = refusal.Detail });
}

/// <summary>
/// A change waiting to be applied together with others (<see cref="AuditedChanges.ApplyTogetherAsync"/>): what
/// <see cref="AuditedChanges.ApplyAsync{T}"/> takes for one. <paramref name="Audit"/> null: a change that is not audited
/// row by row (a heartbeat). <paramref name="AfterCommit"/>: work to do once the change is committed and before anyone
/// is answered; the same delegate (a method of the grain) runs once per batch however many changes name it.
/// </summary>
public sealed record AuditedChange(
    Caller Caller,
    Guid TenantId,
    AuditEvent? Audit,
    Func<NpgsqlConnection, NpgsqlTransaction, Task<object?>> Apply,
    Func<Task<object?>>? Replay = null,
    string? EventIdSuffix = null,
    Func<Task>? AfterCommit = null);

/// <summary>How one change of a batch ended: applied with its result, found applied before (a replay or a reused key), or refused.</summary>
public sealed record AuditedOutcome(AuditClaim Claim, object? Result, Exception? Refusal)
{
    public static AuditedOutcome Applied(object? result) => new(AuditClaim.Recorded, result, null);

    public static AuditedOutcome Refused(Exception refusal) => new(AuditClaim.Recorded, null, refusal);

    /// <summary>Whether the change was committed.</summary>
    public bool IsApplied => Claim == AuditClaim.Recorded && Refusal is null;
}
