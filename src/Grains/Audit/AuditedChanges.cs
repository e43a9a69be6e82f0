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
            return claim switch
            {
                AuditClaim.Recorded => result!,
                AuditClaim.Replay => replay is null ? throw PhantomException.Conflict("This request was applied before.") : await replay(),
                _ => throw PhantomException.IdempotencyKeyReused(caller.Client.RequestId),
            };
        }
        catch (PhantomException e) when (IsAudited(e))
        {
            await auditSql.RecordAloneAsync(failureTenantId ?? tenantId, caller.UserId, caller.Client, AttemptOf(audit, e));
            throw;
        }
        catch (PostgresException e) when (DatabaseErrors.AsProblem(e) is { } problem)
        {
            await auditSql.RecordAloneAsync(failureTenantId ?? tenantId, caller.UserId, caller.Client,
                audit.As(AuditEvent.Failure, new { status = problem.Status, error = e.SqlState, constraint = e.ConstraintName }));
            throw problem.Status == 409 ? PhantomException.Conflict($"{audit.ResourceType} '{audit.ResourceId}' exists already.") : problem;
        }
    }

    /// <summary>Whether a refusal inside a change is audited: 401 and 404 were audited where they were decided.</summary>
    public static bool IsAudited(PhantomException refusal) => refusal.Status is not (401 or 404);

    /// <summary>The row of an attempt the change refused: denied for a quota, failed otherwise, with the reason.</summary>
    public static AuditEvent AttemptOf(AuditEvent audit, PhantomException refusal) =>
        audit.As(refusal.Status == 429 ? AuditEvent.Denied : AuditEvent.Failure, new { status = refusal.Status, error = refusal.Detail });
}
