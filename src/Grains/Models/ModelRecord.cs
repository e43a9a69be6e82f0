namespace PhantomMl.Grains.Models;

/// <summary>A models row as the grain keeps it.</summary>
public sealed record ModelRecord(
    Guid Id,
    Guid TenantId,
    string Name,
    string ModelType,
    string Algorithm,
    string Status,
    string? ActiveVersion,
    int? FeatureCount,
    long? TrainingSamples,
    IReadOnlyDictionary<string, string> Tags,
    string? Metadata,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string CreatedBy,
    long RowVersion)
{
    /// <summary>The API's view, with the model's aliases (alias to version label).</summary>
    public ModelView ToView(IReadOnlyDictionary<string, string> aliases, IReadOnlyDictionary<string, AliasTraffic>? traffic = null) => new(Id, Name,
        ModelType,
        Algorithm, Status, ActiveVersion, FeatureCount, TrainingSamples, Tags, Metadata, aliases, CreatedAt, UpdatedAt, CreatedBy, RowVersion,
        traffic is { Count: > 0 } ? traffic : null);
}
