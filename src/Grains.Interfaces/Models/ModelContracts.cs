namespace PhantomMl.Grains.Models;

/// <summary>A registered model. <see cref="ETag"/> is its row version: send it back in If-Match to change it.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.models.ModelView")]
public sealed record ModelView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string ModelType,
    [property: Id(3)] string Algorithm,
    [property: Id(4)] string Status,
    [property: Id(5)] string? ActiveVersion,
    [property: Id(6)] int? FeatureCount,
    [property: Id(7)] long? TrainingSamples,
    [property: Id(8)] IReadOnlyDictionary<string, string> Tags,
    [property: Id(9)] string? Metadata,
    [property: Id(10)] IReadOnlyDictionary<string, string> Aliases,
    [property: Id(11)] DateTimeOffset CreatedAt,
    [property: Id(12)] DateTimeOffset UpdatedAt,
    [property: Id(13)] string CreatedBy,
    [property: Id(14)] long ETag,
    [property: Id(15)] IReadOnlyDictionary<string, AliasTraffic>? Traffic = null);

/// <summary>
/// How an alias serves: <see cref="ChallengerPercent"/> of its requests go to the <see cref="Challenger"/> version
/// (a traffic split; the answer says which version gave it), and every request is also mirrored to the
/// <see cref="Shadow"/> version, whose answer is recorded but never returned. Versions are labels.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.models.AliasTraffic")]
public sealed record AliasTraffic([property: Id(0)] string? Challenger, [property: Id(1)] int ChallengerPercent, [property: Id(2)] string? Shadow);

/// <summary>
/// What serving a version label, an alias or "active" means right now: the model, the primary artifact, and for
/// an alias with traffic rules the challenger (with its share in percent) and the shadow artifacts.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.models.ServingRoute")]
public sealed record ServingRoute(
    [property: Id(0)] Guid ModelId,
    [property: Id(1)] ArtifactView Primary,
    [property: Id(2)] ArtifactView? Challenger,
    [property: Id(3)] int ChallengerPercent,
    [property: Id(4)] ArtifactView? Shadow,
    [property: Id(5)] string? Alias);

/// <summary>Registers a model. Metadata is a JSON object (as text) of at most 64 KiB.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.models.CreateModel")]
public sealed record CreateModel(
    [property: Id(0)] string ModelType,
    [property: Id(1)] string Algorithm,
    [property: Id(2)] int? FeatureCount = null,
    [property: Id(3)] long? TrainingSamples = null,
    [property: Id(4)] IReadOnlyDictionary<string, string>? Tags = null,
    [property: Id(5)] string? Metadata = null);

/// <summary>
/// Changes a model; null members stay as they are. <see cref="Tags"/> replaces all tags; <see cref="MergeTags"/>
/// sets only the tags it names, keeping the others (so concurrent writers of different tags do not collide).
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.models.UpdateModel")]
public sealed record UpdateModel(
    [property: Id(0)] string? ModelType = null,
    [property: Id(1)] string? Algorithm = null,
    [property: Id(2)] int? FeatureCount = null,
    [property: Id(3)] long? TrainingSamples = null,
    [property: Id(4)] IReadOnlyDictionary<string, string>? Tags = null,
    [property: Id(5)] string? Metadata = null,
    [property: Id(6)] IReadOnlyDictionary<string, string>? MergeTags = null);

/// <summary>
/// One version of a model. <see cref="PerformanceDelta"/> is computed against the parent version; <see cref="Source"/> and
/// <see cref="TrainingJobId"/> are what it was registered with; <see cref="Tags"/> are the version's own; <see cref="ArchivedAt"/>
/// says since when the version is retired (never while active).
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.models.ModelVersionView")]
public sealed record ModelVersionView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Version,
    [property: Id(2)] string? ParentVersion,
    [property: Id(3)] string? Changelog,
    [property: Id(4)] double? Accuracy,
    [property: Id(5)] double? Precision,
    [property: Id(6)] double? Recall,
    [property: Id(7)] double? F1,
    [property: Id(8)] IReadOnlyDictionary<string, double> PerformanceMetrics,
    [property: Id(9)] IReadOnlyDictionary<string, double> PerformanceDelta,
    [property: Id(10)] bool IsActive,
    [property: Id(11)] string? ArtifactUri,
    [property: Id(12)] DateTimeOffset CreatedAt,
    [property: Id(13)] string CreatedBy,
    [property: Id(14)] string? Source = null,
    [property: Id(15)] Guid? TrainingJobId = null,
    [property: Id(16)] IReadOnlyDictionary<string, string>? Tags = null,
    [property: Id(17)] DateTimeOffset? ArchivedAt = null);

/// <summary>
/// Registers a version. Scores are in [0, 1]; free-form metrics are finite numbers. <see cref="Source"/> says where the model's
/// files came from (MLflow's source, such as a run's artifact URI), at most 1,000 characters.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.models.RegisterVersion")]
public sealed record RegisterVersion(
    [property: Id(0)] string Version,
    [property: Id(1)] string? ParentVersion = null,
    [property: Id(2)] string? Changelog = null,
    [property: Id(3)] double? Accuracy = null,
    [property: Id(4)] double? Precision = null,
    [property: Id(5)] double? Recall = null,
    [property: Id(6)] double? F1 = null,
    [property: Id(7)] IReadOnlyDictionary<string, double>? PerformanceMetrics = null,
    [property: Id(8)] Guid? TrainingJobId = null,
    [property: Id(9)] string? Source = null);

/// <summary>A lineage edge: this model came from <see cref="ParentModel"/>.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.models.LineageEdge")]
public sealed record LineageEdge(
    [property: Id(0)] string Model,
    [property: Id(1)] string? ParentModel,
    [property: Id(2)] string LineageType,
    [property: Id(3)] string? TransformationMetadata,
    [property: Id(4)] DateTimeOffset CreatedAt);

/// <summary>The ancestors and descendants of a model, as edges.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.models.LineageGraph")]
public sealed record LineageGraph(
    [property: Id(0)] string Model,
    [property: Id(1)] IReadOnlyList<LineageEdge> Ancestors,
    [property: Id(2)] IReadOnlyList<LineageEdge> Descendants);

/// <summary>Filters of a model search; all optional. Sort: name (default) or created (newest first).</summary>
[GenerateSerializer, Immutable, Alias("phantomml.models.ModelSearch")]
public sealed record ModelSearch(
    [property: Id(0)] string? NamePrefix = null,
    [property: Id(1)] string? ModelType = null,
    [property: Id(2)] string? Status = null,
    [property: Id(3)] string? Algorithm = null,
    [property: Id(4)] string? Tag = null,
    [property: Id(5)] DateTimeOffset? CreatedFrom = null,
    [property: Id(6)] DateTimeOffset? CreatedTo = null,
    [property: Id(7)] string Sort = "name",
    [property: Id(8)] int Limit = 50,
    [property: Id(9)] string? Cursor = null);

/// <summary>A page of models and the cursor of the next one (null at the end).</summary>
[GenerateSerializer, Immutable, Alias("phantomml.models.ModelPage")]
public sealed record ModelPage([property: Id(0)] IReadOnlyList<ModelView> Models, [property: Id(1)] string? NextCursor);

/// <summary>A version's stored artifact.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.models.ArtifactView")]
public sealed record ArtifactView(
    [property: Id(0)] string Version,
    [property: Id(1)] long SizeBytes,
    [property: Id(2)] string Sha256,
    [property: Id(3)] string StorageProvider,
    [property: Id(4)] string StoragePath,
    [property: Id(5)] string CompressionType,
    [property: Id(6)] string? EncryptionKeyId,
    [property: Id(7)] DateTimeOffset CreatedAt);

/// <summary>
/// An admitted upload: its id (what a client names it by), the version it is for, its size, and until when it may be
/// used. The object key is generated by the server from the caller's tenant; the server keeps the ticket and reads every
/// part of it from its own copy, so a client that alters one changes nothing.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.models.ArtifactUploadTicket")]
public sealed record ArtifactUploadTicket(
    [property: Id(0)] Guid UploadId,
    [property: Id(1)] string Version,
    [property: Id(2)] string ObjectKey,
    [property: Id(3)] long SizeBytes,
    [property: Id(4)] DateTimeOffset ExpiresAt,
    [property: Id(5)] Guid? ApiKeyId = null);

/// <summary>The result of re-reading an artifact and hashing it again.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.models.ArtifactVerification")]
public sealed record ArtifactVerification(
    [property: Id(0)] bool Intact,
    [property: Id(1)] string RecordedSha256,
    [property: Id(2)] string? ActualSha256,
    [property: Id(3)] long? ActualSizeBytes,
    [property: Id(4)] string? Problem);
