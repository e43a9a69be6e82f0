namespace PhantomMl.Grains.Security;

/// <summary>What a caller attempts, as access control needs to know it to refuse and record the refusal.</summary>
public interface IAuditedAttempt
{
    /// <summary>The audit event type (<c>model_lifecycle</c>, <c>training</c>, ...).</summary>
    string EventType { get; }

    /// <summary>The kind of resource (<c>model</c>, <c>training_job</c>, ...).</summary>
    string ResourceType { get; }

    /// <summary>The resource's name or id, as the caller gave it.</summary>
    string ResourceId { get; }

    /// <summary>What the caller attempts (<c>create</c>, <c>read</c>, ...).</summary>
    string Action { get; }
}

/// <summary>
/// Where access control records what it refuses, each refusal in a row of its own. The audit trail implements it, so
/// that access control (which every area, the audit trail included, depends on) does not depend on the audit area.
/// </summary>
public interface IAccessAudit
{
    /// <summary>Records that <paramref name="caller"/> was refused <paramref name="attempt"/>, in the caller's tenant.</summary>
    Task RecordRefusalAsync(Caller caller, IAuditedAttempt attempt, object details);

    /// <summary>Records that a known API key was refused (revoked, expired, its user disabled), in the key's tenant.</summary>
    Task RecordKeyRefusalAsync(Guid tenantId, string userId, ClientDetails client, Guid keyId, string reason);
}
