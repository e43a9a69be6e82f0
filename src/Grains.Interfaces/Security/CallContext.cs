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

    /// <summary>
    /// Which client connection a call came through, set by the silo (never taken from the client): what failed
    /// authentications of SDK callers are counted by, since a client's network address is not visible to grains.
    /// </summary>
    public const string ClientConnection = "phantom.client-connection";

    /// <summary>The client's user agent.</summary>
    public const string UserAgent = "phantom.user-agent";

    /// <summary>The cluster's internal-call secret: set only by the platform's own components, never by clients.</summary>
    public const string InternalSecret = "phantom.internal-secret";

    /// <summary>Which platform component makes an internal call (recorded as the audit rows' user).</summary>
    public const string Component = "phantom.component";

    /// <summary>An idempotency key: the same key makes a retried mutation a no-op; it becomes the audit event id.</summary>
    public const string RequestId = "phantom.request-id";

    /// <summary>
    /// Set by a silo on every call it makes (the cluster's internal secret): a call without it came from a client, and
    /// only methods marked <see cref="ClientCallableAttribute"/> accept it.
    /// </summary>
    public const string Origin = "phantom.origin";

    /// <summary>
    /// The longest request id or session id kept as sent; a longer one is cut to this length with a marker and a hash of
    /// the whole, so two different long ids stay different.
    /// </summary>
    public const int MaxTokenLength = 200;

    /// <summary>The longest user agent kept; a longer one is cut (and marked as cut).</summary>
    public const int MaxUserAgentLength = 512;
}
