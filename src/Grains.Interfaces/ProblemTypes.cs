namespace PhantomMl.Grains;

/// <summary>
/// Every kind of error the platform answers, as the stable <c>type</c> URI of its RFC 7807 ProblemDetails. Clients may
/// branch on these; they never change once published.
/// </summary>
public static class ProblemTypes
{
    private const string Base = "https://phantom-ml.dev/problems/";

    /// <summary>400: the request is malformed or a value is invalid (member <c>field</c> names it).</summary>
    public const string InvalidRequest = Base + "invalid-request";

    /// <summary>400: a probe key is not 1-100 letters, digits, dots, dashes or underscores.</summary>
    public const string InvalidKey = Base + "invalid-key";

    /// <summary>401: no valid API key.</summary>
    public const string Unauthenticated = Base + "unauthenticated";

    /// <summary>403: authenticated, but the roles do not grant the permission (member <c>permission</c>).</summary>
    public const string Forbidden = Base + "forbidden";

    /// <summary>403: the caller's tenant is suspended.</summary>
    public const string TenantSuspended = Base + "tenant-suspended";

    /// <summary>403: a client of the cluster called a method only silos may call.</summary>
    public const string NotClientCallable = Base + "not-client-callable";

    /// <summary>404: no such resource the caller may see (another tenant's look the same).</summary>
    public const string NotFound = Base + "not-found";

    /// <summary>409: the resource exists, or the operation does not fit its state.</summary>
    public const string Conflict = Base + "conflict";

    /// <summary>411: an upload without Content-Length.</summary>
    public const string LengthRequired = Base + "length-required";

    /// <summary>412: the ETag in If-Match is not current (member <c>etag</c>).</summary>
    public const string PreconditionFailed = Base + "precondition-failed";

    /// <summary>428: a change that needs If-Match was sent without it.</summary>
    public const string PreconditionRequired = Base + "precondition-required";

    /// <summary>413: a body, file or batch is over its bound (member <c>field</c>).</summary>
    public const string PayloadTooLarge = Base + "payload-too-large";

    /// <summary>422: an Idempotency-Key sent before with a different request.</summary>
    public const string IdempotencyKeyReused = Base + "idempotency-key-reused";

    /// <summary>429: too many failed authentications; retry after <c>retryAfter</c> seconds.</summary>
    public const string TooManyFailedAuthentications = Base + "too-many-failed-authentications";

    /// <summary>429: a tenant quota would be exceeded (members <c>quota</c>, <c>limit</c>, <c>used</c>).</summary>
    public const string QuotaExceeded = Base + "quota-exceeded";

    /// <summary>501: the artifact store cannot issue download URLs.</summary>
    public const string NoPresignedUrls = Base + "no-presigned-urls";

    /// <summary>503: a silo left the cluster and its grains are moving; retry shortly.</summary>
    public const string ClusterUnavailable = Base + "cluster-unavailable";

    /// <summary>503: this silo is stopping; send the request again.</summary>
    public const string SiloStopping = Base + "silo-stopping";

    /// <summary>503: the artifact store failed; nothing was recorded.</summary>
    public const string ArtifactStoreUnavailable = Base + "artifact-store-unavailable";

    /// <summary>503: ClickHouse did not take the metric points; send them again.</summary>
    public const string MetricsStoreUnavailable = Base + "metrics-store-unavailable";

    /// <summary>The full type URI of a short name such as <c>invalid-request</c>; a full URI stays as it is.</summary>
    public static string Of(string type) => type.StartsWith("https://", StringComparison.Ordinal) ? type : Base + type;
}
