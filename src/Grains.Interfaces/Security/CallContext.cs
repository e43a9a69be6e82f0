namespace PhantomMl.Grains.Security;

/// <summary>
/// The keys under which a call carries its credential and client details in Orleans' RequestContext.
/// The HTTP front end and the SDK set them; grains authenticate the API key themselves on every call,
/// so the SDK and the HTTP API are held to exactly the same rules.
/// </summary>
public static class CallContext
{
    /// <summary>The caller's API key.</summary>
    public const string ApiKey = "phantom.api-key";

    /// <summary>A client-chosen session id, recorded in audit rows.</summary>
    public const string SessionId = "phantom.session-id";

    /// <summary>The client's IP address as the HTTP front end saw it.</summary>
    public const string ClientAddress = "phantom.client-ip";

    /// <summary>The client's user agent.</summary>
    public const string UserAgent = "phantom.user-agent";

    /// <summary>The cluster's internal-call secret: set only by the platform's own components, never by clients.</summary>
    public const string InternalSecret = "phantom.internal-secret";

    /// <summary>Which platform component makes an internal call (recorded as the audit rows' user).</summary>
    public const string Component = "phantom.component";

    /// <summary>An idempotency key: the same key makes a retried mutation a no-op; it becomes the audit event id.</summary>
    public const string RequestId = "phantom.request-id";
}
