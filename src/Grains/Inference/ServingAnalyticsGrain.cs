using Orleans.Concurrency;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// See <see cref="IServingAnalyticsGrain"/>. Needs <c>models:read</c> on the tenant; the model is looked up through its
/// grain (so another tenant's model is 404 like a missing one) and the numbers come from ClickHouse, filtered by the
/// tenant's id and the model's id. Figures lag the requests by the recorder's interval (<see cref="InferenceRecorder"/>).
/// </summary>
[StatelessWorker]
public sealed class ServingAnalyticsGrain(AccessGuard guard, InferenceMetricsTable metrics, TimeProvider time)
    : Grain, IServingAnalyticsGrain
{
    private static readonly TimeSpan LongestWindow = TimeSpan.FromDays(400);

    /// <inheritdoc />
    public async Task<ServingAnalytics> GetAsync(string tenantKey, string model, DateTimeOffset? from, DateTimeOffset? to, int? bucketSeconds,
        string? version)
    {
        var tenantId = (await guard.AuthorizeAsync(tenantKey, Permissions.ModelsRead,
            new AuditEvent("data_access", "model", model ?? "", "read-analytics"))).TenantId;
        ModelLifecycle.Name(model);
        var found = await GrainFactory.Model(tenantKey, model!).GetAsync();

        var end = PlausibleTime.Check(to, "to") ?? time.GetUtcNow();
        PlausibleTime.Check(from, "from");
        var start = from ?? end.AddHours(-1);
        if (start >= end || end - start > LongestWindow)
        {
            throw PhantomException.Invalid($"from must be before to, at most {LongestWindow.TotalDays:N0} days apart.", "from");
        }

        var window = (end - start).TotalSeconds;
        var bucket = bucketSeconds ?? (int)Math.Max(1, Math.Ceiling(window / 60));
        if (bucket < 1 || window / bucket > IServingAnalyticsGrain.MaxBuckets)
        {
            throw PhantomException.Invalid($"bucketSeconds must be at least 1 and make at most {IServingAnalyticsGrain.MaxBuckets} buckets of the " +
                $"window.", "bucketSeconds");
        }

        if (version is not null)
        {
            ModelLifecycle.Label(version, "version");
        }

        var versions = await metrics.ServingAsync(tenantId, found.Id, start, end, bucket, version);
        return new ServingAnalytics(found.Name, start, end, bucket, versions);
    }
}
