namespace PhantomMl.Grains.Models;

/// <summary>
/// A shared cache of model views (metadata, active version, aliases) for lookups that should not all funnel
/// into one model grain. It is never the source of truth: a miss or an unavailable cache falls back to the grain.
/// </summary>
public interface IModelCache
{
    /// <summary>The cached view, or null on a miss (or when the cache cannot be reached).</summary>
    Task<ModelView?> GetAsync(Guid tenantId, string modelName);

    /// <summary>Stores the view of a committed state.</summary>
    Task SetAsync(Guid tenantId, ModelView model);

    /// <summary>Forgets the model; called before every change is committed.</summary>
    Task InvalidateAsync(Guid tenantId, string modelName);
}
