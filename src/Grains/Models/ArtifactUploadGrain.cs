using System.IO.Pipelines;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Models;

/// <summary>
/// See <see cref="IArtifactUploadGrain"/>. The ticket (object key, size, owning API key) is read from the model grain,
/// which keeps it; chunks go into a pipe that the store's upload reads from on the thread pool; a write returns once the
/// pipe is below its threshold, so a slow store slows the client down instead of filling memory (at most
/// <see cref="PipeBudgetBytes"/> buffered here, plus what the store buffers per part).
/// </summary>
public sealed partial class ArtifactUploadGrain(AccessGuard guard, IArtifactStore artifacts, InternalCalls internalCalls,
    ILogger<ArtifactUploadGrain> logger)
    : Grain, IArtifactUploadGrain
{
    private const int PipeBudgetBytes = 16 << 20;
    private readonly CancellationTokenSource _abandoned = new();
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private string _tenantKey = "";
    private string _modelName = "";
    private Guid _uploadId;
    private Pipe? _pipe;
    private Task? _store;
    private Guid _owner;
    private ArtifactUploadTicket? _ticket;
    private long _written;
    private bool _completed;

    private IModelGrain Model => GrainFactory.Model(_tenantKey, _modelName);

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenantKey, _modelName, _uploadId) = GrainKeys.ParseArtifactUpload(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task BeginAsync()
    {
        var caller = (await guard.AuthorizeAsync(_tenantKey, Permissions.ModelsWrite, Event())).Caller;
        if (_ticket is not null)
        {
            // A retried Begin of the same upload by the same key is harmless; anything else is not.
            EnsureOwner(caller);
            return;
        }

        // 404 unless the model issued this ticket, unexpired, in the caller's tenant.
        var ticket = _uploadId == Guid.Empty ? throw PhantomException.NotFound("upload",
            _uploadId.ToString()) : await Model.GetArtifactUploadAsync(_uploadId);
        if (ticket.ApiKeyId != caller.KeyId)
        {
            throw PhantomException.NotFound("upload", _uploadId.ToString()); // not the key that asked for it: as if there were none
        }

        _owner = caller.KeyId;
        _ticket = ticket;
        _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: PipeBudgetBytes, resumeWriterThreshold: PipeBudgetBytes / 2,
            useSynchronizationContext: false));
        var reader = _pipe.Reader;
        _store = Task.Run(async () =>
        {
            try
            {
                await artifacts.PutAsync(ticket.ObjectKey, reader.AsStream(), ticket.SizeBytes, _abandoned.Token);
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
        var ticket = await OwnedTicketAsync();
        if (chunk is null || chunk.Length > IArtifactUploadGrain.MaxChunkBytes)
        {
            throw PhantomException.Invalid($"A chunk is 0 to {IArtifactUploadGrain.MaxChunkBytes} bytes.", "chunk");
        }

        if (offset < 0)
        {
            throw PhantomException.Invalid("The offset must not be negative.", "offset");
        }

        if (offset + chunk.Length <= _written)
        {
            return _written; // a retry of a chunk that arrived
        }

        if (offset != _written)
        {
            throw PhantomException.Conflict($"The upload continues at offset {_written}, not {offset}.");
        }

        if (_written + chunk.Length > ticket.SizeBytes)
        {
            throw PhantomException.Invalid($"The upload announced {ticket.SizeBytes} bytes; this chunk goes beyond them.", "chunk");
        }

        _hash.AppendData(chunk);
        _written += chunk.Length;
        var flushed = await _pipe!.Writer.WriteAsync(chunk);
        if (flushed.IsCompleted && _written < ticket.SizeBytes)
        {
            // The store stopped reading before it had everything: it failed.
            await FailedStoreAsync();
        }

        return _written;
    }

    /// <inheritdoc />
    public async Task<ArtifactView> CompleteAsync(string? expectedSha256)
    {
        var ticket = await OwnedTicketAsync();
        if (_written != ticket.SizeBytes)
        {
            throw PhantomException.Invalid($"The upload has {_written} of its {ticket.SizeBytes} bytes.", "chunk");
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

        // The model grain records it with what was measured here (or deletes the object when it refuses: checksum, quota, a newer ticket).
        _completed = true;
        DeactivateOnIdle();
        return await Model.CompleteArtifactUploadAsync(_uploadId, _written, Convert.ToHexStringLower(_hash.GetHashAndReset()), expectedSha256);
    }

    /// <inheritdoc />
    public async Task AbortAsync()
    {
        await OwnedTicketAsync();
        await AbandonAsync();
        DeactivateOnIdle();
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_ticket is not null && !_completed)
        {
            LogAbandoned(_ticket.ObjectKey, _written, _ticket.SizeBytes, reason.Description);
            await AbandonAsync();
        }
    }

    /// <summary>The ticket, once the caller is authorized and is the key that began the upload; 404 otherwise.</summary>
    private async Task<ArtifactUploadTicket> OwnedTicketAsync()
    {
        var caller = (await guard.AuthorizeAsync(_tenantKey, Permissions.ModelsWrite, Event())).Caller;
        EnsureOwner(caller);
        return _ticket!;
    }

    private void EnsureOwner(Caller caller)
    {
        if (_ticket is null || _completed || caller.KeyId != _owner)
        {
            // Not begun, finished, or not the key that began it: behave exactly as if there were no such upload.
            throw PhantomException.NotFound("upload", _uploadId.ToString());
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
        throw PhantomException.Unavailable(ProblemTypes.ArtifactStoreUnavailable,
            "The artifact store failed", $"Storing the artifact failed ({reason}); nothing was recorded. Start the upload again.");
    }

    /// <summary>Stops the stream, and has the model delete the ticket and its object (as the platform: the caller may be gone).</summary>
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
            await internalCalls.AsComponentAsync("artifact-upload", async () =>
            {
                await Model.AbandonArtifactUploadAsync(_uploadId);
                return true;
            });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogOrphan(e, _ticket?.ObjectKey ?? _uploadId.ToString()); // the ticket expires and the sweep removes the object
        }
    }

    private AuditEvent Event() => new("data_modification", "model", _modelName, "upload-artifact");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Artifact upload {ObjectKey} abandoned at {Written} of {Size} bytes: {Reason}")]
    private partial void LogAbandoned(string objectKey, long written, long size, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not delete abandoned artifact upload {ObjectKey}; the orphan sweep will")]
    private partial void LogOrphan(Exception exception, string objectKey);
}
