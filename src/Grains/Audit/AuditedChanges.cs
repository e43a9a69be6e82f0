using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Audit;

/// <summary>
/// How every state change is written: the change and its audit row in one transaction of the tenant, so a
/// committed change always has its row and a failed one has neither. The request id is the audit event id:
/// seen before, it means the change was applied already, so nothing is written and <c>replay</c> answers.
/// A refusal or failure inside the change rolls it back and is audited on its own.
/// </summary>
public sealed class AuditedChanges(TenantDatabase database)
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
        Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> change, Func<Task<T>>? replay = null, Guid? failureTenantId = null, string? eventIdSuffix = null)
    {
        try
        {
            var (applied, result) = await database.InTenantAsync(tenantId, async (connection, transaction) =>
                await AuditRecorder.RecordAsync(connection, transaction, tenantId, caller.UserId, caller.Client, audit, eventIdSuffix)
                    ? (true, await change(connection, transaction))
                    : (false, default(T)));
            if (applied)
            {
                return result!;
            }

            return replay is null ? throw PhantomException.Conflict("This request was applied before.") : await replay();
        }
        catch (PhantomException e) when (e.Status is not (401 or 404))
        {
            await AuditRecorder.RecordAloneAsync(database, failureTenantId ?? tenantId, caller.UserId, caller.Client,
                audit.As(e.Status == 429 ? AuditEvent.Denied : AuditEvent.Failure, new { status = e.Status, error = e.Detail }));
            throw;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            await AuditRecorder.RecordAloneAsync(database, failureTenantId ?? tenantId, caller.UserId, caller.Client,
                audit.As(AuditEvent.Failure, new { status = 409, error = e.ConstraintName }));
            throw PhantomException.Conflict($"{audit.ResourceType} '{audit.ResourceId}' exists already.");
        }
    }
}
