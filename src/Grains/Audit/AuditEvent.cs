using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Audit;

/// <summary>What an audit row says happened; who did it comes from the <see cref="Caller"/>.</summary>
public sealed record AuditEvent(string EventType, string ResourceType, string ResourceId, string Action, string Result = AuditEvent.Success,
    object? Details = null)
    : IAuditedAttempt
{
    public const string Success = "success";
    public const string Failure = "failure";
    public const string Denied = "denied";

    /// <summary>The same event with another result and details.</summary>
    public AuditEvent As(string result, object? details) => this with { Result = result, Details = details };
}

/// <summary>What recording an event with a caller's idempotency key found.</summary>
public enum AuditClaim
{
    /// <summary>The event is new and was recorded.</summary>
    Recorded,

    /// <summary>The same caller sent the same request under this key before: nothing was written.</summary>
    Replay,

    /// <summary>The same caller used this key before for a different request: nothing was written.</summary>
    KeyReused,
}

/// <summary>One row to record: who (user and client), what, and the suffix that tells a second row of one request apart.</summary>
public readonly record struct PendingAuditRow(string UserId, ClientDetails Client, AuditEvent Audit, string? EventIdSuffix = null);
