using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// See <see cref="IPredictionGrain"/>. The caller needs <c>inference:predict</c> on the tenant; what a label, alias
/// or the active version is served by (with an alias's traffic split and shadow) is looked up as the platform's
/// "inference" component and trusted for <see cref="InferenceOptions.ResolutionTtl"/>, so moving an alias or
/// activating another version is served within that time. A request is admitted before it is scored: its rows are
/// within the tenant's <c>predict_rows_per_request</c> and fit the model's inputs, and it is charged one request and
/// its rows (<see cref="MonthlyQuotaLeases"/>); then it is answered from the result cache or scored, micro-batched with
/// concurrent requests for the same version (<see cref="MicroBatcher"/>), and recorded without waiting
/// (<see cref="InferenceRecorder"/>). A shadow version scores a copy afterwards, charged as shadow_scorings and at most
/// <c>concurrent_shadow_scorings</c> at a time per tenant on this silo (more are skipped and counted); its answer is only recorded.
/// </summary>
[StatelessWorker]
[Reentrant] // stateless: a request waiting on ONNX Runtime must not hold up the ones behind it
public sealed partial class PredictionGrain(AccessGuard guard, InternalCalls internalCalls, MicroBatcher batcher, PredictionCache cache,
    MonthlyQuotaLeases quota,
    InferenceRecorder recorder, TenantLimits limits, IOptions<InferenceOptions> options, TimeProvider time, ILogger<PredictionGrain> logger)
    : Grain, IPredictionGrain
{
    private static readonly ExpiringMemo<(string TenantKey, string Model, string Version), ServingRoute> Routes = new(capacity: 100_000);
    private static readonly ConcurrentDictionary<Guid, int> ShadowsInFlight = new();
    private static long _shadowsSkipped;

    /// <summary>Shadow scorings skipped on this silo since it started (the tenant's concurrency bound or quota was reached).</summary>
    public static long ShadowsSkipped => Interlocked.Read(ref _shadowsSkipped);

    /// <inheritdoc />
    public async Task<PredictionView> PredictAsync(string tenantKey, string model, string versionOrAlias, PredictRequest request)
    {
        var outcome = (await PredictManyAsync(tenantKey, model, versionOrAlias, [request]))[0];
        return outcome.Prediction ?? throw outcome.Refusal!;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PredictOutcome>> PredictManyAsync(string tenantKey, string model, string versionOrAlias,
        IReadOnlyList<PredictRequest> requests)
    {
        var (caller, tenantId) = await AuthorizeAsync(tenantKey, model, "predict");
        if (requests is not { Count: > 0 and <= IPredictionGrain.MaxRequests })
        {
            throw PhantomException.Invalid($"Send 1 to {IPredictionGrain.MaxRequests} requests.", "requests");
        }

        var tenantLimits = await limits.GetAsync(tenantId);
        var owner = Owner(tenantId, tenantLimits);
        var route = await ResolveAsync(tenantKey, model, versionOrAlias);
        var outcomes = new PredictOutcome[requests.Count];
        var admitted = new List<Admitted>(requests.Count);
        for (var i = 0; i < requests.Count; i++)
        {
            try
            {
                if (await AdmitAsync(tenantKey, tenantId, owner, tenantLimits, route, requests[i]) is var (artifact, routeName, rows, cached)
                    && cached is not null)
                {
                    outcomes[i] = new PredictOutcome(cached with { Route = routeName });
                }
                else
                {
                    admitted.Add(new Admitted(i, artifact, routeName, rows));
                }
            }
            catch (PhantomException refusal)
            {
                outcomes[i] = new PredictOutcome(null, refusal);
            }
        }

        // Scored in this turn, the requests of one artifact together: a batch takes well under a millisecond, less than
        // handing it to another thread and back. (A model's first load is the exception; it runs on the thread pool
        // inside the session cache.) Concurrent calls for the same artifact on this silo still join one micro-batch.
        foreach (var group in admitted.GroupBy(request => (request.Artifact.Sha256, request.Artifact.Version)))
        {
            var artifact = group.First().Artifact;
            var started = Stopwatch.GetTimestamp();
            var predictions = await batcher.ScoreAsync(owner, artifact, group.Count() == 1 ? group.First().Rows : [.. group.SelectMany(request => request.Rows)]);
            var inferenceMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var offset = 0;
            foreach (var request in group)
            {
                var answer = new PredictionView(model, artifact.Version, group.Count() == 1 ? predictions : [.. predictions.Skip(offset).Take(request.Rows.Count)],
                    inferenceMs, Route: request.RouteName);
                offset += request.Rows.Count;
                if (!requests[request.Index].BypassCache)
                {
                    await cache.SetAsync(tenantKey, artifact, request.Rows, answer); // a bypassing caller asked for a fresh answer, not to fill the cache
                }

                outcomes[request.Index] = new PredictOutcome(answer);
            }
        }

        var share = tenantLimits[Quotas.RecordingQueueRecords];
        for (var i = 0; i < requests.Count; i++)
        {
            if (outcomes[i].Prediction is not { } answer)
            {
                continue;
            }

            var rows = requests[i].Rows;
            // Each request of the call is recorded as its own request (analytics count requests by their id): the
            // call's id alone for a lone request, with the request's place in the call for requests sent together.
            var requestId = requests.Count == 1 ? caller.Client.RequestId : $"{caller.Client.RequestId}:{i}";
            recorder.Record(Record(tenantId, route, caller, requestId, answer.Version, answer.Route, rows, answer.Predictions, answer.InferenceMs,
                answer.Cached), share);
            if (route.Shadow is { } shadow && TryStartShadow(tenantId, tenantLimits[Quotas.ConcurrentShadowScorings]))
            {
                _ = Task.Run(() => ShadowAsync(owner, route, shadow, caller, requestId, rows, share));
            }
        }

        return outcomes;
    }

    /// <summary>A request admitted for scoring: its place among the call's requests, what serves it, and its rows.</summary>
    private sealed record Admitted(int Index, ArtifactView Artifact, string RouteName,
        IReadOnlyList<IReadOnlyDictionary<string, double>> Rows);

    /// <summary>
    /// Admits one request: its rows are within the tenant's bound and fit the model's inputs, and it is charged one
    /// request and its rows. Answers what serves it (a traffic split picks per request) and, when the result cache has
    /// the answer, that answer (still charged: a cached answer is still a request). Throws the request's own refusal.
    /// </summary>
    private async Task<(ArtifactView Artifact, string RouteName, IReadOnlyList<IReadOnlyDictionary<string, double>> Rows, PredictionView? Cached)>
        AdmitAsync(string tenantKey, Guid tenantId, ModelOwner owner, IReadOnlyDictionary<string, long> tenantLimits, ServingRoute route,
            PredictRequest? request)
    {
        var maxRows = Math.Min(IPredictionGrain.MaxRows, tenantLimits[Quotas.PredictRowsPerRequest]);
        if (request?.Rows is not { Count: > 0 } rows || rows.Count > maxRows)
        {
            throw PhantomException.Invalid($"Send 1 to {maxRows} rows (the tenant's {Quotas.PredictRowsPerRequest}).", "rows");
        }

        if (rows.Any(row => row is null))
        {
            throw PhantomException.Invalid("A row is null; each row maps the model's inputs to numbers.", "rows");
        }

        var (artifact, routeName) = route.Challenger is { } challenger && Random.Shared.Next(100) < route.ChallengerPercent
            ? (challenger, "challenger")
            : (route.Primary, "primary");
        var cached = request.BypassCache ? null : await cache.GetAsync(tenantKey, artifact, rows);
        if (cached is null)
        {
            await batcher.ValidateAsync(owner, artifact, rows); // only a request that can be scored counts
        }

        await ChargeAsync(tenantId, rows.Count);
        return (artifact, routeName, rows, cached);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ModelInput>> DescribeAsync(string tenantKey, string model, string versionOrAlias)
    {
        var (_, tenantId) = await AuthorizeAsync(tenantKey, model, "describe");
        var owner = Owner(tenantId, await limits.GetAsync(tenantId));
        var route = await ResolveAsync(tenantKey, model, versionOrAlias);
        return await batcher.DescribeAsync(owner, route.Primary); // a first load runs on the thread pool inside the session cache
    }

    private async Task ChargeAsync(Guid tenantId, int rows)
    {
        await quota.ConsumeAsync(tenantId, Quotas.InferenceRequests, 1, options.Value.QuotaLeaseSize);
        await quota.ConsumeAsync(tenantId, Quotas.InferenceRows, rows, options.Value.RowQuotaLeaseSize);
    }

    /// <summary>Admits a shadow scoring when the tenant has fewer than <paramref name="limit"/> in flight on this silo.</summary>
    private static bool TryStartShadow(Guid tenantId, long limit)
    {
        if (ShadowsInFlight.AddOrUpdate(tenantId, 1, (_, running) => running + 1) <= limit)
        {
            return true;
        }

        ShadowDone(tenantId);
        Interlocked.Increment(ref _shadowsSkipped);
        return false;
    }

    private static void ShadowDone(Guid tenantId) => ShadowsInFlight.AddOrUpdate(tenantId, 0, (_, running) => Math.Max(0, running - 1));

    /// <summary>Scores a copy of the request with the shadow version and records it; the caller never sees it.</summary>
    private async Task ShadowAsync(ModelOwner owner, ServingRoute route, ArtifactView shadow, Caller caller, string requestId,
        IReadOnlyList<IReadOnlyDictionary<string, double>> rows, long share)
    {
        try
        {
            await quota.ConsumeAsync(owner.TenantId, Quotas.ShadowScorings, rows.Count, options.Value.RowQuotaLeaseSize);
            var started = Stopwatch.GetTimestamp();
            var predictions = await batcher.PredictAsync(owner, shadow, rows);
            recorder.Record(Record(owner.TenantId, route, caller, requestId, shadow.Version, "shadow", rows, predictions,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds, cached: false), share);
        }
        catch (PhantomException e) when (e.Status == 429)
        {
            Interlocked.Increment(ref _shadowsSkipped); // the month's shadow scorings are used up: serving goes on without them
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogShadowFailed(e, shadow.Version); // the shadow's schema or artifact may differ: it never affects the caller
        }
        finally
        {
            ShadowDone(owner.TenantId);
        }
    }

    private static ModelOwner Owner(Guid tenantId, IReadOnlyDictionary<string, long> tenantLimits) =>
        new(tenantId, (int)Math.Clamp(tenantLimits[Quotas.OnnxThreads], 1, 64), tenantLimits[Quotas.OnnxSessionBytes]);

    private InferenceRecord Record(Guid tenantId, ServingRoute route, Caller caller, string requestId, string version, string routeName,
        IReadOnlyList<IReadOnlyDictionary<string, double>> rows, IReadOnlyList<RowPrediction> predictions, double inferenceMs, bool cached) =>
        new(Guid.CreateVersion7(), time.GetUtcNow(), tenantId, route.ModelId, version, routeName, route.Alias, requestId, caller.UserId,
            caller.Client.SessionId, cached, rows, predictions, inferenceMs);

    private async Task<(Caller Caller, Guid TenantId)> AuthorizeAsync(string tenantKey, string model, string action)
    {
        var access = await guard.AuthorizeAsync(tenantKey, Permissions.InferencePredict, new AuditEvent("inference", "model", model ?? "", action));
        return (access.Caller, access.TenantId);
    }

    /// <summary>What a version label, an alias, or "active" is served by now (within the resolution TTL).</summary>
    private async Task<ServingRoute> ResolveAsync(string tenantKey, string model, string versionOrAlias)
    {
        ModelLifecycle.Name(model);
        if (versionOrAlias is not { Length: > 0 and <= 64 })
        {
            throw PhantomException.Invalid("The version is a label, an alias or \"active\" of at most 64 characters.", "version");
        }

        var key = (tenantKey, model, versionOrAlias);
        var now = time.GetUtcNow();
        if (Routes.TryGet(key, now, out var known))
        {
            return known;
        }

        // Already authorized for inference; the registry lookup runs as the platform, so a key with only
        // inference:predict can be served.
        var route = await internalCalls.AsComponentAsync("inference",
            () => GrainFactory.Model(tenantKey, model).GetServingRouteAsync(versionOrAlias));
        Routes.Set(key, route, now + options.Value.ResolutionTtl);
        return route;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shadow version {Version} could not score a mirrored request")]
    private partial void LogShadowFailed(Exception exception, string version);
}
