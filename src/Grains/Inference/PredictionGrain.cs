using System.Diagnostics;
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
/// See <see cref="IPredictionGrain"/>. The caller needs <c>inference:predict</c> on the tenant; which artifact a
/// label, alias or the active version stands for is looked up as the platform's "inference" component and trusted
/// for <see cref="InferenceOptions.ResolutionTtl"/>, so moving an alias or activating another version is served
/// within that time. Scoring runs on the thread pool, never on the grain's scheduler, micro-batched with concurrent
/// requests for the same version (<see cref="MicroBatcher"/>).
/// </summary>
[StatelessWorker]
[Reentrant] // stateless: a request waiting on ONNX Runtime must not hold up the ones behind it
public sealed class PredictionGrain(TenantDatabase database, AccessGuard guard, InternalCalls internalCalls, OnnxModelCache models, MicroBatcher batcher,
    PredictionCache cache, IOptions<InferenceOptions> options, TimeProvider time) : Grain, IPredictionGrain
{
    private static readonly ExpiringMemo<(string TenantKey, string Model, string Version), ArtifactView> Resolved = new(capacity: 100_000);

    /// <inheritdoc />
    public async Task<PredictionView> PredictAsync(string tenantKey, string model, string versionOrAlias, PredictRequest request)
    {
        await AuthorizeAsync(tenantKey, model, "predict");
        if (request?.Rows is not { Count: > 0 and <= IPredictionGrain.MaxRows })
        {
            throw PhantomException.Invalid($"Send 1 to {IPredictionGrain.MaxRows} rows.", "rows");
        }

        var artifact = await ResolveAsync(tenantKey, model, versionOrAlias);
        if (!request.BypassCache && await cache.GetAsync(tenantKey, artifact, request.Rows) is { } cached)
        {
            return cached;
        }

        var started = Stopwatch.GetTimestamp();
        var predictions = await Task.Run(() => batcher.PredictAsync(artifact, request.Rows));
        var answer = new PredictionView(model, artifact.Version, predictions, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        await cache.SetAsync(tenantKey, artifact, request.Rows, answer);
        return answer;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ModelInput>> DescribeAsync(string tenantKey, string model, string versionOrAlias)
    {
        await AuthorizeAsync(tenantKey, model, "describe");
        var artifact = await ResolveAsync(tenantKey, model, versionOrAlias);
        return await Task.Run(() => models.WithModelAsync(artifact, loaded => loaded.Inputs));
    }

    private async Task AuthorizeAsync(string tenantKey, string model, string action)
    {
        var tenantId = await TenantStore.ResolveAsync(database, tenantKey);
        await guard.AuthorizeAsync(tenantId, tenantKey, Permissions.InferencePredict,
            new AuditEvent("inference", "model", model.Length <= 255 ? model : model[..255], action));
    }

    /// <summary>The artifact a version label, an alias, or "active" stands for now (within the resolution TTL).</summary>
    private async Task<ArtifactView> ResolveAsync(string tenantKey, string model, string versionOrAlias)
    {
        ModelLifecycle.Name(model);
        var key = (tenantKey, model, versionOrAlias);
        var now = time.GetUtcNow();
        if (Resolved.TryGet(key, now, out var known))
        {
            return known;
        }

        // Already authorized for inference; the registry lookups run as the platform, so a key with only
        // inference:predict can be served.
        var artifact = await internalCalls.AsComponentAsync("inference", async () =>
        {
            var grain = GrainFactory.GetGrain<IModelGrain>($"{tenantKey}/{model}");
            var version = versionOrAlias == "active"
                ? (await grain.GetAsync()).ActiveVersion ?? throw PhantomException.NotFound("active version of model", model)
                : versionOrAlias;
            return await grain.GetArtifactAsync(version);
        });
        Resolved.Set(key, artifact, now + options.Value.ResolutionTtl);
        return artifact;
    }
}
