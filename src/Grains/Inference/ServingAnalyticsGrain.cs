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

        var (start, end, bucket) = TimeWindow.Check(from, to, bucketSeconds, time.GetUtcNow(), TimeSpan.FromHours(1), LongestWindow,
            IServingAnalyticsGrain.MaxBuckets);

        if (version is not null)
        {
            ModelLifecycle.Label(version, "version");
        }

        var versions = await metrics.ServingAsync(tenantId, found.Id, start, end, bucket, version);
        return new ServingAnalytics(found.Name, start, end, bucket, versions);
    }
}
