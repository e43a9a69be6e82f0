using System.IO.Pipelines;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Models;

/// <summary>
/// See <see cref="IArtifactUploadGrain"/>. Chunks go into a pipe that the store's upload reads from on the thread
/// pool; a write returns once the pipe is below its threshold, so a slow store slows the client down instead of
/// filling memory (at most <see cref="PipeBudgetBytes"/> buffered here, plus what the store buffers per part).
/// </summary>
public sealed partial class ArtifactUploadGrain(AccessGuard guard, IArtifactStore artifacts, ILogger<ArtifactUploadGrain> logger)
    : Grain, IArtifactUploadGrain
{
    private const int PipeBudgetBytes = 16 << 20;
    private const int ServiceUnavailable = 503;
    private readonly CancellationTokenSource _abandoned = new();
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private Pipe? _pipe;
    private Task? _store;
    private string? _apiKey;
    private IModelGrain? _model;
    private ArtifactUploadTicket? _ticket;
    private long _size;
    private long _written;
    private bool _completed;

    /// <inheritdoc />
    public async Task BeginAsync(string tenantKey, string modelName, ArtifactUploadTicket ticket, long sizeBytes)
    {
        if (_ticket is not null)
        {
            // A retried Begin of the same upload by the same key is harmless; anything else is not.
            EnsureOwner();
            return;
        }

        var key = this.GetPrimaryKeyString();
        var tenantId = ArtifactKeys.TenantOf(key);
        await guard.AuthorizeAsync(tenantId, tenantKey, Permissions.ModelsWrite,
            new AuditEvent("model_lifecycle", "model", modelName.Length <= 255 ? modelName : modelName[..255], "upload-artifact"));
        if (ticket.ObjectKey != key || !key.Contains($"/{ticket.VersionId:N}/", StringComparison.Ordinal))
        {
            throw PhantomException.Invalid("The upload ticket does not belong to this upload.", "ticket");
        }

        if (sizeBytes < 0)
        {
            throw PhantomException.Invalid("The artifact size must not be negative.", "sizeBytes");
        }

        _apiKey = RequestContext.Get(CallContext.ApiKey) as string;
        _model = GrainFactory.GetGrain<IModelGrain>($"{tenantKey}/{modelName}");
        _ticket = ticket;
        _size = sizeBytes;
        _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: PipeBudgetBytes, resumeWriterThreshold: PipeBudgetBytes / 2, useSynchronizationContext: false));
        var reader = _pipe.Reader;
        _store = Task.Run(async () =>
        {
            try
            {
                await artifacts.PutAsync(key, reader.AsStream(), sizeBytes, _abandoned.Token);
            }
            finally
            {
                // Unblocks a writer waiting on a store that gave up.
                await reader.CompleteAsync();
            }
        });
    }

    /// <inheritdoc />
    public async Task<long> WriteAsync(long offset, byte[] chunk)
    {
        EnsureOwner();
        if (chunk.Length > IArtifactUploadGrain.MaxChunkBytes)
        {
            throw PhantomException.Invalid($"A chunk is at most {IArtifactUploadGrain.MaxChunkBytes} bytes.", "chunk");
        }

        if (offset + chunk.Length <= _written)
        {
            return _written; // a retry of a chunk that arrived
        }

        if (offset != _written)
        {
            throw PhantomException.Conflict($"The upload continues at offset {_written}, not {offset}.");
        }

        if (_written + chunk.Length > _size)
        {
            throw PhantomException.Invalid($"The upload announced {_size} bytes; this chunk goes beyond them.", "chunk");
        }

        _hash.AppendData(chunk);
        _written += chunk.Length;
        var flushed = await _pipe!.Writer.WriteAsync(chunk);
        if (flushed.IsCompleted && _written < _size)
        {
            // The store stopped reading before it had everything: it failed.
            await FailedStoreAsync();
        }

        return _written;
    }

    /// <inheritdoc />
    public async Task<ArtifactView> CompleteAsync(string? expectedSha256)
    {
        EnsureOwner();
        if (_written != _size)
        {
            throw PhantomException.Invalid($"The upload has {_written} of its {_size} bytes.", "chunk");
        }

        await _pipe!.Writer.CompleteAsync();
        try
        {
            await _store!;
        }
        catch (Exception e) when (e is not PhantomException)
        {
            await FailedStoreAsync();
        }

        // The model grain records it (or deletes the object when it refuses: checksum, quota, a concurrent upload).
        _completed = true;
        DeactivateOnIdle();
        return await _model!.CompleteArtifactUploadAsync(_ticket!, _size, Convert.ToHexStringLower(_hash.GetHashAndReset()), expectedSha256);
    }

    /// <inheritdoc />
    public async Task AbortAsync()
    {
        EnsureOwner();
        await AbandonAsync();
        DeactivateOnIdle();
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_ticket is not null && !_completed)
        {
            LogAbandoned(_ticket.ObjectKey, _written, _size, reason.Description);
            await AbandonAsync();
        }
    }

    private void EnsureOwner()
    {
        if (_ticket is null || _completed)
        {
            throw PhantomException.NotFound("upload", this.GetPrimaryKeyString());
        }

        if (!string.Equals(RequestContext.Get(CallContext.ApiKey) as string, _apiKey, StringComparison.Ordinal))
        {
            // Not the key that began it: behave exactly as if there were no such upload.
            throw PhantomException.NotFound("upload", this.GetPrimaryKeyString());
        }
    }

    private async Task FailedStoreAsync()
    {
        string reason;
        try
        {
            await _store!;
            reason = "the store stopped reading";
        }
        catch (Exception e)
        {
            reason = e.Message;
        }

        await AbandonAsync();
        throw new PhantomException(ServiceUnavailable, "https://phantom-ml.dev/problems/artifact-store-unavailable",
            "The artifact store failed", $"Storing the artifact failed ({reason}); nothing was recorded. Start the upload again.");
    }

    private async Task AbandonAsync()
    {
        _completed = true;
        await _abandoned.CancelAsync();
        if (_pipe is not null)
        {
            await _pipe.Writer.CompleteAsync();
        }

        try
        {
            await (_store ?? Task.CompletedTask);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Expected after cancelling; the object is deleted below either way.
        }

        try
        {
            await artifacts.DeleteAsync(this.GetPrimaryKeyString(), CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogOrphan(e, this.GetPrimaryKeyString());
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Artifact upload {ObjectKey} abandoned at {Written} of {Size} bytes: {Reason}")]
    private partial void LogAbandoned(string objectKey, long written, long size, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not delete abandoned artifact object {ObjectKey}; the orphan sweep will")]
    private partial void LogOrphan(Exception exception, string objectKey);
}
