using Microsoft.Extensions.Options;
using PhantomMl.Grains.Models;

namespace PhantomMl.Grains.Inference;

/// <summary>Whose model is loaded, and the bounds it is loaded under (from the tenant's quotas).</summary>
/// <param name="TenantId">The tenant the model belongs to.</param>
/// <param name="Threads">ONNX Runtime threads a run of the model may use (<c>onnx_threads</c>).</param>
/// <param name="MemoryBudget">Memory all of the tenant's loaded models may take on this silo (<c>onnx_session_bytes</c>).</param>
public sealed record ModelOwner(Guid TenantId, int Threads, long MemoryBudget);

/// <summary>
/// The models loaded on this silo, per tenant and artifact SHA-256 (a version's bytes never change, so the hash is the
/// identity): each loaded once, however many requests ask at the same time. Memory is estimated as twice the ONNX size.
/// Each tenant's loaded models stay within that tenant's budget: loading another unloads the tenant's own least recently
/// used models, never another tenant's; and the silo as a whole stays within <see cref="InferenceOptions.SessionBudgetBytes"/>,
/// unloading least recently used models of any tenant. A model larger than its tenant's budget is refused (413).
/// </summary>
public sealed class OnnxModelCache(IArtifactStore artifacts, IOptions<InferenceOptions> options) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(Guid Tenant, string Sha), (Lazy<Task<OnnxModel>> Model, LinkedListNode<(Guid Tenant, string Sha)> Use)> _models = [];
    private readonly LinkedList<(Guid Tenant, string Sha)> _recency = new();

    /// <summary>Runs <paramref name="work"/> with the artifact's model loaded and held for the duration.</summary>
    public async Task<T> WithModelAsync<T>(ModelOwner owner, ArtifactView artifact, Func<OnnxModel, T> work)
    {
        if (2 * artifact.SizeBytes > owner.MemoryBudget)
        {
            throw PhantomException.TooLarge($"Version '{artifact.Version}' needs about {2 * artifact.SizeBytes} bytes of memory loaded; the " +
                $"tenant's " +
                $"{Tenants.Quotas.OnnxSessionBytes} allows {owner.MemoryBudget}.", Tenants.Quotas.OnnxSessionBytes);
        }

        while (true)
        {
            var model = await Lookup(owner, artifact).Value;
            if (!model.TryAcquire())
            {
                continue; // unloaded between lookup and use: load again
            }

            try
            {
                return work(model);
            }
            finally
            {
                model.Release();
            }
        }
    }

    /// <summary>How many models are loaded.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _models.Count;
            }
        }
    }

    private Lazy<Task<OnnxModel>> Lookup(ModelOwner owner, ArtifactView artifact)
    {
        var key = (owner.TenantId, artifact.Sha256);
        lock (_gate)
        {
            if (_models.TryGetValue(key, out var entry))
            {
                _recency.Remove(entry.Use);
                _recency.AddFirst(entry.Use);
                return entry.Model;
            }

            var loading = new Lazy<Task<OnnxModel>>(() => Task.Run(() => LoadAsync(owner, artifact)));
            _models[key] = (loading, _recency.AddFirst(key));
            return loading;
        }
    }

    private async Task<OnnxModel> LoadAsync(ModelOwner owner, ArtifactView artifact)
    {
        var key = (owner.TenantId, artifact.Sha256);
        try
        {
            await using var content = await artifacts.OpenReadAsync(artifact.StoragePath, 0, null, CancellationToken.None);
            using var buffer = new MemoryStream((int)Math.Min(artifact.SizeBytes, int.MaxValue));
            await content.CopyToAsync(buffer);
            var bytes = buffer.ToArray();
            var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
            if (sha != artifact.Sha256)
            {
                throw new InvalidDataException($"The stored artifact's SHA-256 is {sha}, not the recorded {artifact.Sha256}: it is damaged and is " +
                    $"not served.");
            }

            OnnxModel model;
            try
            {
                model = new OnnxModel(bytes, owner.Threads);
            }
            catch (Exception e) when (e is Microsoft.ML.OnnxRuntime.OnnxRuntimeException or PhantomException { Status: 400 })
            {
                // The caller's mistake (a version whose artifact is not a servable model), not the platform's: a 400 that says so.
                var reason = e is PhantomException refused ? refused.Detail : $"ONNX Runtime: {e.Message}";
                throw PhantomException.Invalid($"Version '{artifact.Version}' has an artifact that cannot load as a model. {reason}", "version");
            }

            lock (_gate)
            {
                EvictBeyondBudgets(owner, key, model.SizeBytes);
            }

            return model;
        }
        catch
        {
            lock (_gate)
            {
                if (_models.Remove(key, out var failed))
                {
                    _recency.Remove(failed.Use);
                }
            }

            throw;
        }
    }

    /// <summary>
    /// Unloads the tenant's least recently used models beyond its budget, then anyone's beyond the silo's; never the model
    /// just loaded (<paramref name="loaded"/>, of <paramref name="loadedBytes"/>, not yet counted by its entry).
    /// </summary>
    private void EvictBeyondBudgets(ModelOwner owner, (Guid Tenant, string Sha) loaded, long loadedBytes)
    {
        long Estimated(Func<(Guid Tenant, string Sha), bool> which) => _models
            .Where(e => e.Key != loaded && which(e.Key) && e.Value.Model.IsValueCreated && e.Value.Model.Value.IsCompletedSuccessfully)
            .Sum(e => 2 * e.Value.Model.Value.Result.SizeBytes) + (which(loaded) ? 2 * loadedBytes : 0);

        void Shrink(Func<(Guid Tenant, string Sha), bool> which, long budget)
        {
            var node = _recency.Last;
            while (node is not null && Estimated(which) > budget)
            {
                var previous = node.Previous;
                if (which(node.Value) && node.Value != loaded)
                {
                    Unload(node);
                }

                node = previous;
            }
        }

        Shrink(key => key.Tenant == owner.TenantId, owner.MemoryBudget);
        Shrink(_ => true, options.Value.SessionBudgetBytes);
    }

    private void Unload(LinkedListNode<(Guid Tenant, string Sha)> node)
    {
        _recency.Remove(node);
        if (_models.Remove(node.Value, out var evicted) && evicted.Model.IsValueCreated && evicted.Model.Value.IsCompletedSuccessfully)
        {
            evicted.Model.Value.Result.Dispose();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var entry in _models.Values.Where(e => e.Model.IsValueCreated && e.Model.Value.IsCompletedSuccessfully))
            {
                entry.Model.Value.Result.Dispose();
            }

            _models.Clear();
            _recency.Clear();
        }
    }
}
