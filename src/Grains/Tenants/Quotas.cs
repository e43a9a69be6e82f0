using System.Collections.Frozen;

namespace PhantomMl.Grains.Tenants;

/// <summary>
/// The quotas a tenant has. A gauge counts what exists now (users, models...), over one endless period;
/// a monthly quota counts what was used in the calendar month (UTC).
/// </summary>
public static class Quotas
{
    public const string Users = "users";
    public const string Models = "models";
    public const string ModelVersions = "model_versions";
    public const string ArtifactBytes = "artifact_bytes";
    public const string ConcurrentTrainingJobs = "concurrent_training_jobs";
    public const string InferenceRequests = "inference_requests";

    /// <summary>The quotas counted per calendar month; all others are gauges.</summary>
    public static readonly FrozenSet<string> Monthly = new[] { InferenceRequests }.ToFrozenSet();

    /// <summary>Defaults per subscription tier; a tenant's own resource_quotas override them key by key.</summary>
    public static readonly FrozenDictionary<string, FrozenDictionary<string, long>> ByTier = new Dictionary<string, FrozenDictionary<string, long>>
    {
        ["basic"] = Limits(users: 10, models: 50, versions: 500, artifactBytes: 10L << 30, training: 2, inference: 100_000),
        ["pro"] = Limits(users: 100, models: 500, versions: 10_000, artifactBytes: 100L << 30, training: 10, inference: 10_000_000),
        ["enterprise"] = Limits(users: 10_000, models: 10_000, versions: 1_000_000, artifactBytes: 10L << 40, training: 100, inference: 1_000_000_000),
    }.ToFrozenDictionary();

    /// <summary>Every quota name.</summary>
    public static readonly FrozenSet<string> Names = ByTier["basic"].Keys.ToFrozenSet();

    /// <summary>The period a quota is counted in at <paramref name="now"/>: [start, end), end null for gauges.</summary>
    public static (DateTimeOffset Start, DateTimeOffset? End) PeriodOf(string quota, DateTimeOffset now)
    {
        if (!Monthly.Contains(quota))
        {
            return (DateTimeOffset.UnixEpoch, null);
        }

        var start = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return (start, start.AddMonths(1));
    }

    private static FrozenDictionary<string, long> Limits(long users, long models, long versions, long artifactBytes, long training, long inference) =>
        new Dictionary<string, long>
        {
            [Users] = users,
            [Models] = models,
            [ModelVersions] = versions,
            [ArtifactBytes] = artifactBytes,
            [ConcurrentTrainingJobs] = training,
            [InferenceRequests] = inference,
        }.ToFrozenDictionary();
}
