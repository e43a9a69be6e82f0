using Microsoft.Extensions.Options;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// The models loaded on this silo, by artifact SHA-256 (a version's bytes never change, so the hash is the identity):
/// each loaded once, however many requests ask at the same time, and unloaded least recently used first when the
/// estimated memory (twice the ONNX size) passes <see cref="InferenceOptions.SessionBudgetBytes"/>.
/// </summary>
public sealed class OnnxModelCache(IArtifactStore artifacts, IOptions<InferenceOptions> options) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (Lazy<Task<OnnxModel>> Model, LinkedListNode<string> Use)> _models = [];
    private readonly LinkedList<string> _recency = new();

    /// <summary>Runs <paramref name="work"/> with the artifact's model loaded and held for the duration.</summary>
    public async Task<T> WithModelAsync<T>(ArtifactView artifact, Func<OnnxModel, T> work)
    {
        while (true)
        {
            var model = await Lookup(artifact).Value;
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

    private Lazy<Task<OnnxModel>> Lookup(ArtifactView artifact)
    {
        lock (_gate)
        {
            if (_models.TryGetValue(artifact.Sha256, out var entry))
            {
                _recency.Remove(entry.Use);
                _recency.AddFirst(entry.Use);
                return entry.Model;
            }

            var loading = new Lazy<Task<OnnxModel>>(() => Task.Run(() => LoadAsync(artifact)));
            _models[artifact.Sha256] = (loading, _recency.AddFirst(artifact.Sha256));
            EvictBeyondBudget();
            return loading;
        }
    }

    private async Task<OnnxModel> LoadAsync(ArtifactView artifact)
    {
        try
        {
            await using var content = await artifacts.OpenReadAsync(artifact.StoragePath, 0, null, CancellationToken.None);
            using var buffer = new MemoryStream((int)Math.Min(artifact.SizeBytes, int.MaxValue));
            await content.CopyToAsync(buffer);
            var bytes = buffer.ToArray();
            var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
            if (sha != artifact.Sha256)
            {
                throw new InvalidDataException($"The stored artifact's SHA-256 is {sha}, not the recorded {artifact.Sha256}: it is damaged and is not served.");
            }

            try
            {
                return new OnnxModel(bytes);
            }
            catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException e)
            {
                // The caller's mistake (a version whose artifact is not a model), not the platform's: a 400 that says so.
                throw PhantomException.Invalid($"Version '{artifact.Version}' has an artifact ONNX Runtime cannot load as a model: {e.Message}", "version");
            }
        }
        catch
        {
            lock (_gate)
            {
                if (_models.Remove(artifact.Sha256, out var failed))
                {
                    _recency.Remove(failed.Use);
                }
            }

            throw;
        }
    }

    private void EvictBeyondBudget()
    {
        long Estimated() => _models.Values.Where(e => e.Model.IsValueCreated && e.Model.Value.IsCompletedSuccessfully).Sum(e => 2 * e.Model.Value.Result.SizeBytes);
        while (_recency.Count > 1 && Estimated() > options.Value.SessionBudgetBytes)
        {
            var oldest = _recency.Last!.Value;
            _recency.RemoveLast();
            if (_models.Remove(oldest, out var evicted) && evicted.Model.IsValueCreated && evicted.Model.Value.IsCompletedSuccessfully)
            {
                evicted.Model.Value.Result.Dispose();
            }
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
