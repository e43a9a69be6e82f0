using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Lineage;

/// <summary>
/// The kinds of resource the platform records lineage between, and how each is named (docs/audit.md#lineage).
/// </summary>
public static class LineageKinds
{
    /// <summary>Data a job or batch read, named by its URI (<c>model://iris-data/versions/1</c>, <c>s3://...</c>).</summary>
    public const string Dataset = "dataset";

    /// <summary>A training job, named by its id.</summary>
    public const string TrainingJob = "training_job";

    /// <summary>A registered model, named by its name.</summary>
    public const string Model = "model";

    /// <summary>A model version, named <c>{model}/versions/{version}</c>.</summary>
    public const string ModelVersion = "model_version";

    /// <summary>An alias of a model, named <c>{model}/aliases/{alias}</c>.</summary>
    public const string Alias = "alias";

    /// <summary>The scored output of a batch inference, named by the batch id.</summary>
    public const string BatchOutput = "batch_output";

    /// <summary>Every kind, for validating queries.</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string> { Dataset, TrainingJob, Model, ModelVersion, Alias, BatchOutput };

    /// <summary>The name of a model version node.</summary>
    public static string VersionId(string model, string version) => $"{model}/versions/{version}";

    /// <summary>The name of an alias node.</summary>
    public static string AliasId(string model, string alias) => $"{model}/aliases/{alias}";
}

/// <summary>One edge: <see cref="ResourceId"/> came from <see cref="ParentId"/> by <see cref="Transformation"/>.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.lineage.LineageLink")]
public sealed record LineageLink(
    [property: Id(0)] string ResourceType,
    [property: Id(1)] string ResourceId,
    [property: Id(2)] string ParentType,
    [property: Id(3)] string ParentId,
    [property: Id(4)] string Transformation,
    [property: Id(5)] string? Metadata,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] string CreatedBy,
    [property: Id(8)] int Depth);

/// <summary>
/// A walk from one resource: <c>upstream</c> follows where it came from, <c>downstream</c> what came from it, up to
/// <see cref="Depth"/> edges away (1-20) and <see cref="Limit"/> edges (1-2000).
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.lineage.LineageQuery")]
public sealed record LineageQuery(
    [property: Id(0)] string ResourceType,
    [property: Id(1)] string ResourceId,
    [property: Id(2)] string Direction = "upstream",
    [property: Id(3)] int Depth = 5,
    [property: Id(4)] int Limit = 500);

/// <summary>The edges a walk reached, nearest first; <see cref="Truncated"/> when <c>limit</c> cut it short.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.lineage.LineageTrace")]
public sealed record LineageTrace(
    [property: Id(0)] string ResourceType,
    [property: Id(1)] string ResourceId,
    [property: Id(2)] string Direction,
    [property: Id(3)] IReadOnlyList<LineageLink> Links,
    [property: Id(4)] bool Truncated);

/// <summary>A tenant's data lineage (key: tenant key). Stateless: reads scale out across silos.</summary>
[ClientCallable]
[Alias("phantomml.lineage.ILineageGrain")]
public interface ILineageGrain : IGrainWithStringKey
{
    /// <summary>Walks the lineage graph from one resource (models:read); 404 when no edge of this tenant touches it.</summary>
    [Alias("TraceAsync")] Task<LineageTrace> TraceAsync(LineageQuery query);
}

/// <summary>References to the Lineage area's grains, keyed by <see cref="GrainKeys"/>.</summary>
public static class LineageGrainFactory
{
    /// <summary>A tenant's lineage graph.</summary>
    public static ILineageGrain Lineage(this IGrainFactory grains, string tenantKey) => grains.GetGrain<ILineageGrain>(GrainKeys.Tenant(tenantKey));
}
