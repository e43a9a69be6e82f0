using PhantomMl.Grains.Inference;
using PhantomMl.Grains.Security;

namespace PhantomMl.Silo.Apis;

/// <summary>
/// Concurrent HTTP predictions of one caller for one version travel to the prediction grain together, as the SDK's do
/// (<see cref="PredictionCoalescer{TLane}"/>): each is still authorized, charged, recorded and answered as if alone.
/// A lane is one caller exactly as the grains see it (the API key and every client detail the call carries), so
/// requests of different keys, addresses, sessions or user agents never share a grain call. A request with its own
/// <c>Idempotency-Key</c> is its own lane: it keeps that id in its records.
/// </summary>
public sealed class HttpPredictions
{
    private readonly PredictionCoalescer<Lane> _coalescer;

    /// <summary>Creates the front end's coalescer over <paramref name="grains"/>.</summary>
    public HttpPredictions(IGrainFactory grains) =>
        _coalescer = new PredictionCoalescer<Lane>((lane, requests) =>
        {
            // This call may carry requests of several HTTP requests: it carries their common caller, not the context of
            // whichever request happened to start the sender.
            RequestContext.Clear();
            lane.Caller.Apply();
            return grains.Predictor().PredictManyAsync(lane.TenantKey, lane.Model, lane.Version, requests);
        });

    /// <summary>Scores <paramref name="request"/> for the caller of the current HTTP request (its RequestContext).</summary>
    public Task<PredictionView> PredictAsync(string tenantKey, string model, string versionOrAlias, PredictRequest request, HttpContext http) =>
        _coalescer.PredictAsync(new Lane(tenantKey, model, versionOrAlias, HttpCaller.Current(http)), request);

    /// <summary>One caller and one version.</summary>
    private sealed record Lane(string TenantKey, string Model, string Version, HttpCaller Caller);

    /// <summary>What the call-context middleware put into the RequestContext for the grains, as a value.</summary>
    private sealed record HttpCaller(string? ApiKey, string? SessionId, string? ClientAddress, string? UserAgent, string? IdempotencyKey)
    {
        public static HttpCaller Current(HttpContext http) => new(Read(CallContext.ApiKey), Read(CallContext.SessionId),
            Read(CallContext.ClientAddress), Read(CallContext.UserAgent),
            http.Request.Headers.ContainsKey("Idempotency-Key") ? Read(CallContext.RequestId) : null);

        public void Apply()
        {
            Write(CallContext.ApiKey, ApiKey);
            Write(CallContext.SessionId, SessionId);
            Write(CallContext.ClientAddress, ClientAddress);
            Write(CallContext.UserAgent, UserAgent);
            Write(CallContext.RequestId, IdempotencyKey ?? Guid.CreateVersion7().ToString());
        }

        private static string? Read(string key) => RequestContext.Get(key) as string;

        private static void Write(string key, string? value)
        {
            if (value is not null)
            {
                RequestContext.Set(key, value);
            }
        }
    }
}
