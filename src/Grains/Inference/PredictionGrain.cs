using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Caching;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// See <see cref="IPredictionGrain"/>. The caller needs <c>inference:predict</c> on the tenant; what a label, alias
/// or the active version is served by (with an alias's traffic split and shadow) is looked up as the platform's
/// "inference" component and trusted for <see cref="InferenceOptions.ResolutionTtl"/>, so moving an alias or
/// activating another version is served within that time. A request is checked against the model's inputs, counted
/// against the tenant's request quota (<see cref="InferenceQuota"/>), answered from the result cache or scored,
/// micro-batched with concurrent requests for the same version (<see cref="MicroBatcher"/>), and recorded without
/// waiting (<see cref="InferenceRecorder"/>). A shadow version scores a copy afterwards; its answer is
/// only recorded.
/// </summary>
[StatelessWorker]
[Reentrant] // stateless: a request waiting on ONNX Runtime must not hold up the ones behind it
public sealed partial class PredictionGrain(TenantDatabase database, AccessGuard guard, InternalCalls internalCalls, OnnxModelCache models, MicroBatcher batcher,
    PredictionCache cache, InferenceQuota quota, InferenceRecorder recorder, IOptions<InferenceOptions> options, TimeProvider time,
    ILogger<PredictionGrain> logger) : Grain, IPredictionGrain
{
    private static readonly ExpiringMemo<(string TenantKey, string Model, string Version), ServingRoute> Routes = new(capacity: 100_000);

    /// <inheritdoc />
    public async Task<PredictionView> PredictAsync(string tenantKey, string model, string versionOrAlias, PredictRequest request)
    {
        var (tenantId, caller) = await AuthorizeAsync(tenantKey, model, "predict");
        if (request?.Rows is not { Count: > 0 and <= IPredictionGrain.MaxRows })
        {
            throw PhantomException.Invalid($"Send 1 to {IPredictionGrain.MaxRows} rows.", "rows");
        }

        var route = await ResolveAsync(tenantKey, model, versionOrAlias);
        var (artifact, routeName) = route.Challenger is { } challenger && Random.Shared.Next(100) < route.ChallengerPercent
            ? (challenger, "challenger")
            : (route.Primary, "primary");

        var answer = request.BypassCache ? null : await cache.GetAsync(tenantKey, artifact, request.Rows);
        if (answer is null)
        {
            // Scored in this turn: a batch takes well under a millisecond, less than handing it to another thread and
            // back. (A model's first load is the exception; it runs on the thread pool inside the session cache.)
            await batcher.ValidateAsync(artifact, request.Rows);
            await quota.ConsumeAsync(tenantId, 1); // only a request that can be scored counts
            var started = Stopwatch.GetTimestamp();
            var predictions = await batcher.ScoreAsync(artifact, request.Rows);
            answer = new PredictionView(model, artifact.Version, predictions, Stopwatch.GetElapsedTime(started).TotalMilliseconds, Route: routeName);
            if (!request.BypassCache)
            {
                await cache.SetAsync(tenantKey, artifact, request.Rows, answer); // a bypassing caller asked for a fresh answer, not to fill the cache
            }
        }
        else
        {
            await quota.ConsumeAsync(tenantId, 1); // a cached answer is still a request
            answer = answer with { Route = routeName };
        }

        recorder.Record(Record(tenantId, route, caller, artifact.Version, routeName, request.Rows, answer.Predictions, answer.InferenceMs, answer.Cached));
        if (route.Shadow is { } shadow)
        {
            _ = Task.Run(() => ShadowAsync(tenantId, route, shadow, caller, request.Rows));
        }

        return answer;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ModelInput>> DescribeAsync(string tenantKey, string model, string versionOrAlias)
    {
        await AuthorizeAsync(tenantKey, model, "describe");
        var route = await ResolveAsync(tenantKey, model, versionOrAlias);
        return await Task.Run(() => models.WithModelAsync(route.Primary, loaded => loaded.Inputs));
    }

    /// <summary>Scores a copy of the request with the shadow version and records it; the caller never sees it.</summary>
    private async Task ShadowAsync(Guid tenantId, ServingRoute route, ArtifactView shadow, Caller caller, IReadOnlyList<IReadOnlyDictionary<string, double>> rows)
    {
        try
        {
            var started = Stopwatch.GetTimestamp();
            var predictions = await batcher.PredictAsync(shadow, rows);
            recorder.Record(Record(tenantId, route, caller, shadow.Version, "shadow", rows, predictions, Stopwatch.GetElapsedTime(started).TotalMilliseconds, cached: false));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogShadowFailed(e, shadow.Version); // the shadow's schema or artifact may differ: it never affects the caller
        }
    }

    private InferenceRecord Record(Guid tenantId, ServingRoute route, Caller caller, string version, string routeName,
        IReadOnlyList<IReadOnlyDictionary<string, double>> rows, IReadOnlyList<RowPrediction> predictions, double inferenceMs, bool cached) =>
        new(Guid.CreateVersion7(), time.GetUtcNow(), tenantId, route.ModelId, version, routeName, route.Alias, caller.Client.RequestId, caller.UserId,
            caller.Client.SessionId, cached, rows, predictions, inferenceMs);

    private async Task<(Guid TenantId, Caller Caller)> AuthorizeAsync(string tenantKey, string model, string action)
    {
        var tenantId = await TenantStore.ResolveAsync(database, tenantKey);
        var caller = await guard.AuthorizeAsync(tenantId, tenantKey, Permissions.InferencePredict,
            new AuditEvent("inference", "model", model.Length <= 255 ? model : model[..255], action));
        return (tenantId!.Value, caller);
    }

    /// <summary>What a version label, an alias, or "active" is served by now (within the resolution TTL).</summary>
    private async Task<ServingRoute> ResolveAsync(string tenantKey, string model, string versionOrAlias)
    {
        ModelLifecycle.Name(model);
        var key = (tenantKey, model, versionOrAlias);
        var now = time.GetUtcNow();
        if (Routes.TryGet(key, now, out var known))
        {
            return known;
        }

        // Already authorized for inference; the registry lookup runs as the platform, so a key with only
        // inference:predict can be served.
        var route = await internalCalls.AsComponentAsync("inference",
            () => GrainFactory.GetGrain<IModelGrain>($"{tenantKey}/{model}").GetServingRouteAsync(versionOrAlias));
        Routes.Set(key, route, now + options.Value.ResolutionTtl);
        return route;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shadow version {Version} could not score a mirrored request")]
    private partial void LogShadowFailed(Exception exception, string version);
}
