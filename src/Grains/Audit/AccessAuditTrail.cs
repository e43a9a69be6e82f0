using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Audit;

/// <summary>
/// Access control's refusals, written to the audit trail as denied <c>authorization</c> rows that name the kind of event
/// attempted (see <see cref="IAccessAudit"/>).
/// </summary>
public sealed class AccessAuditTrail(AuditSql audit) : IAccessAudit
{
    /// <inheritdoc />
    public Task RecordRefusalAsync(Caller caller, IAuditedAttempt attempt, object details) =>
        audit.RecordAloneAsync(caller.TenantId ?? PlatformTenant.Id, caller.UserId, caller.Client,
            new AuditEvent("authorization", attempt.ResourceType, attempt.ResourceId, attempt.Action, AuditEvent.Denied,
                new { attempted = attempt.EventType, details }));

    /// <inheritdoc />
    public Task RecordKeyRefusalAsync(Guid tenantId, string userId, ClientDetails client, Guid keyId, string reason) =>
        audit.RecordAloneAsync(tenantId, userId, client,
            new AuditEvent("authentication", "api-key", keyId.ToString(), "authenticate", AuditEvent.Denied, new { reason }));
}
