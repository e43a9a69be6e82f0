namespace PhantomMl.Grains.Training;

/// <summary>
/// A project of training jobs: what MLflow calls an experiment. <see cref="Id"/> is "0" for the tenant's Default
/// project, 32 hex digits otherwise; a deleted project (<see cref="DeletedAt"/>) can be restored.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.ProjectView")]
public sealed record ProjectView(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string? ArtifactLocation,
    [property: Id(3)] IReadOnlyDictionary<string, string> Tags,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] DateTimeOffset UpdatedAt,
    [property: Id(6)] DateTimeOffset? DeletedAt,
    [property: Id(7)] string CreatedBy);

/// <summary>Which projects or runs a search sees: active (default), deleted, or all.</summary>
public static class ViewTypes
{
    /// <summary>Not deleted.</summary>
    public const string Active = "active";

    /// <summary>Deleted only.</summary>
    public const string Deleted = "deleted";

    /// <summary>Both.</summary>
    public const string All = "all";
}

/// <summary>A search of a tenant's projects: MLflow's filter grammar over name, tags and times; keyset pages.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.ProjectSearch")]
public sealed record ProjectSearch(
    [property: Id(0)] string? Filter = null,
    [property: Id(1)] string ViewType = ViewTypes.Active,
    [property: Id(2)] IReadOnlyList<string>? OrderBy = null,
    [property: Id(3)] int MaxResults = 1000,
    [property: Id(4)] string? PageToken = null);

/// <summary>A page of projects and the token of the next one (null at the end).</summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.ProjectPage")]
public sealed record ProjectPage([property: Id(0)] IReadOnlyList<ProjectView> Projects, [property: Id(1)] string? NextPageToken);

/// <summary>
/// Starts a run: an external training job of a project, running from <see cref="StartTime"/> (now when null), reported
/// by its client and never scheduled by the platform.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.StartRun")]
public sealed record StartRun(
    [property: Id(0)] string ProjectId,
    [property: Id(1)] string? RunName = null,
    [property: Id(2)] DateTimeOffset? StartTime = null,
    [property: Id(3)] IReadOnlyDictionary<string, string>? Tags = null);

/// <summary>
/// A run: its training job, its project, tags, logged inputs (a JSON array of MLflow dataset inputs, as text), when it
/// was deleted (restorable), and the latest point of each metric: null when not read (the answer of a change; read the
/// run or search for them).
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.RunView")]
public sealed record RunView(
    [property: Id(0)] TrainingJobView Job,
    [property: Id(1)] string ProjectId,
    [property: Id(2)] IReadOnlyDictionary<string, string> Tags,
    [property: Id(3)] string? Inputs,
    [property: Id(4)] DateTimeOffset? DeletedAt,
    [property: Id(5)] IReadOnlyList<LatestMetric>? Metrics);

/// <summary>
/// A search of runs in some projects: MLflow's filter grammar over metrics, params, tags and attributes, its order_by
/// clauses, and pages of at most <see cref="MaxResults"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.RunSearch")]
public sealed record RunSearch(
    [property: Id(0)] IReadOnlyList<string> ProjectIds,
    [property: Id(1)] string? Filter = null,
    [property: Id(2)] string ViewType = ViewTypes.Active,
    [property: Id(3)] IReadOnlyList<string>? OrderBy = null,
    [property: Id(4)] int MaxResults = 1000,
    [property: Id(5)] string? PageToken = null);

/// <summary>A page of runs and the token of the next one (null at the end).</summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.RunPage")]
public sealed record RunPage([property: Id(0)] IReadOnlyList<RunView> Runs, [property: Id(1)] string? NextPageToken);

/// <summary>One stored metric point, as logged: step, value and when it was measured.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.LoggedPoint")]
public sealed record LoggedPoint(
    [property: Id(0)] long Step,
    [property: Id(1)] double Value,
    [property: Id(2)] long TimestampMs);

/// <summary>
/// A page of a metric's points in (step, timestamp) order, in columns (point i is <c>Steps[i]</c>, <c>Values[i]</c>,
/// <c>TimestampsMs[i]</c>: compact on the wire for pages of 100,000); <see cref="NextOffset"/> is null at the end.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.LoggedPointPage")]
public sealed record LoggedPointPage(
    [property: Id(0)] long[] Steps,
    [property: Id(1)] double[] Values,
    [property: Id(2)] long[] TimestampsMs,
    [property: Id(3)] long? NextOffset);

/// <summary>A file of a run: its path within the run, size and SHA-256.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.RunArtifactView")]
public sealed record RunArtifactView(
    [property: Id(0)] string Path,
    [property: Id(1)] long SizeBytes,
    [property: Id(2)] string Sha256,
    [property: Id(3)] DateTimeOffset UploadedAt);

/// <summary>
/// Leave to write one file of a run: the generated object key the bytes go to. The job grain checked the path, the
/// size against the tenant's limits, and the run; <see cref="ITrainingJobGrain.CompleteRunArtifactAsync"/> records it.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.RunArtifactTicket")]
public sealed record RunArtifactTicket(
    [property: Id(0)] string Path,
    [property: Id(1)] string ObjectKey,
    [property: Id(2)] long SizeBytes);

/// <summary>Where a run's file can be read: its object key in the artifact store and its record.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.training.RunArtifactLocation")]
public sealed record RunArtifactLocation(
    [property: Id(0)] string ObjectKey,
    [property: Id(1)] RunArtifactView Artifact);
