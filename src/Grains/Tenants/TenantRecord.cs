namespace PhantomMl.Grains.Tenants;

/// <summary>A tenants row. <see cref="QuotaOverrides"/> is what resource_quotas stores; the tier supplies the rest.</summary>
public sealed record TenantRecord(
    Guid Id,
    string Key,
    string Name,
    string Status,
    string Tier,
    string IsolationLevel,
    IReadOnlyDictionary<string, long> QuotaOverrides,
    IReadOnlyList<string> ComplianceFrameworks,
    string? DataResidency,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string CreatedBy)
{
    /// <summary>The limit of every quota: the tier's default unless overridden.</summary>
    public IReadOnlyDictionary<string, long> EffectiveQuotas =>
        Quotas.ByTier[Tier].ToDictionary(q => q.Key, q => QuotaOverrides.TryGetValue(q.Key, out var limit) ? limit : q.Value);

    /// <summary>The API's view.</summary>
    public TenantView ToView() => new(Id, Key, Name, Status, Tier, IsolationLevel, EffectiveQuotas, ComplianceFrameworks, DataResidency, CreatedAt,
        UpdatedAt, CreatedBy);
}
