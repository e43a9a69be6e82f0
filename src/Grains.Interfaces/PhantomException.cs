namespace PhantomMl.Grains;

/// <summary>
/// An error the caller can act on, carried unchanged from a grain to the HTTP API (as RFC 7807
/// ProblemDetails with the same status, type and title) and to SDK callers (as this exception).
/// </summary>
[GenerateSerializer, Alias("phantomml.security.PhantomException")]
public sealed class PhantomException : Exception
{
    /// <summary>Creates the error.</summary>
    public PhantomException(int status, string type, string title, string detail, IReadOnlyDictionary<string, string>? extensions = null)
        : base(detail)
    {
        Status = status;
        Type = type;
        Title = title;
        Detail = detail;
        Extensions = extensions is null ? [] : new Dictionary<string, string>(extensions);
    }

    /// <summary>The HTTP status it maps to.</summary>
    [Id(0)] public int Status { get; }

    /// <summary>A stable URI naming the kind of error.</summary>
    [Id(1)] public string Type { get; }

    /// <summary>A short, stable summary of the kind of error.</summary>
    [Id(2)] public string Title { get; }

    /// <summary>What went wrong in this occurrence.</summary>
    [Id(3)] public string Detail { get; }

    /// <summary>Extra members, e.g. the quota that was exceeded.</summary>
    [Id(4)] public Dictionary<string, string> Extensions { get; }

    /// <summary>400: the request is malformed or invalid.</summary>
    public static PhantomException Invalid(string detail, string? field = null) =>
        new(400, ProblemTypes.InvalidRequest, "The request is invalid", detail,
            field is null ? null : new Dictionary<string, string> { ["field"] = field });

    /// <summary>401: no valid credential.</summary>
    public static PhantomException Unauthenticated(string detail) =>
        new(401, ProblemTypes.Unauthenticated, "Authentication required", detail);

    /// <summary>403: authenticated, but not allowed.</summary>
    public static PhantomException Forbidden(string detail, string? permission = null) =>
        new(403, ProblemTypes.Forbidden, "Not allowed", detail,
            permission is null ? null : new Dictionary<string, string> { ["permission"] = permission });

    /// <summary>403: the caller's tenant is suspended.</summary>
    public static PhantomException TenantSuspended(string tenantKey) =>
        new(403, ProblemTypes.TenantSuspended, "The tenant is suspended", $"Tenant '{tenantKey}' is suspended; only a platform admin can act on it.");

    /// <summary>404: no such resource that the caller may see (another tenant's resources are reported the same way).</summary>
    public static PhantomException NotFound(string resourceType, string id) =>
        new(404, ProblemTypes.NotFound, "Not found", $"No {resourceType} '{id}'.");

    /// <summary>409: the resource exists already, or the operation does not fit its state.</summary>
    public static PhantomException Conflict(string detail) =>
        new(409, ProblemTypes.Conflict, "Conflict with the current state", detail);

    /// <summary>412: the resource changed since the caller read it; the extension <c>etag</c> is the current one.</summary>
    public static PhantomException PreconditionFailed(long currentETag) =>
        new(412, ProblemTypes.PreconditionFailed, "The resource has changed",
            $"The ETag sent in If-Match is not current; re-read the resource (current ETag \"{currentETag}\") and retry.",
            new Dictionary<string, string> { ["etag"] = currentETag.ToString() });

    /// <summary>403: a client of the cluster called a method that only the silos may call.</summary>
    public static PhantomException NotClientCallable(string interfaceName, string methodName) =>
        new(403, ProblemTypes.NotClientCallable, "Not callable by clients",
            $"{interfaceName}.{methodName} is not part of the client surface; only the cluster's own silos call it.");

    /// <summary>413: a request or an uploaded object is larger than allowed.</summary>
    public static PhantomException TooLarge(string detail, string? field = null) =>
        new(413, ProblemTypes.PayloadTooLarge, "Too large", detail, field is null ? null : new Dictionary<string, string> { ["field"] = field });

    /// <summary>422: the idempotency key was used before by the same caller for a different request.</summary>
    public static PhantomException IdempotencyKeyReused(string key) =>
        new(422, ProblemTypes.IdempotencyKeyReused, "The idempotency key was used for another request",
            $"The Idempotency-Key '{key}' was sent before with a different request; use a new key for a new request.");

    /// <summary>429: too many failed authentications from this key prefix or client; try again after <paramref name="retryAfter"/>.</summary>
    public static PhantomException TooManyFailedAuthentications(string who, TimeSpan retryAfter) =>
        new(429, ProblemTypes.TooManyFailedAuthentications, "Too many failed authentications",
            $"Too many failed authentications from this {who}; try again in {Math.Ceiling(retryAfter.TotalSeconds)} s.",
            new Dictionary<string, string> { ["retryAfter"] = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString() });

    /// <summary>429: a tenant quota would be exceeded.</summary>
    public static PhantomException QuotaExceeded(string quota, long limit, long used, long requested) =>
        new(429, ProblemTypes.QuotaExceeded, "Quota exceeded",
            $"Quota '{quota}' allows {limit}; {used} used, {requested} more requested.",
            new Dictionary<string, string> { ["quota"] = quota, ["limit"] = limit.ToString(), ["used"] = used.ToString() });

    /// <summary>
    /// 503: a store or this silo cannot do the work now; the caller may retry. <paramref name="type"/> is a
    /// <see cref="ProblemTypes"/> constant.
    /// </summary>
    public static PhantomException Unavailable(string type, string title, string detail) => new(503, type, title, detail);
}
