using System.Runtime.CompilerServices;
using PhantomMl.Grains.Models;

namespace PhantomMl.Grains.Adapters.FileSystem;

/// <summary>
/// Artifacts as files under one root folder: the single-machine default. Writes go to a temporary file
/// that is renamed into place when complete, so a reader never sees half an artifact.
/// </summary>
public sealed class FileSystemArtifactStore(string root) : IArtifactStore
{
    /// <inheritdoc />
    public string Provider => "filesystem";

    /// <inheritdoc />
    public string? EncryptionKeyId => null;

    /// <inheritdoc />
    public async Task PutAsync(string objectKey, Stream content, long length, CancellationToken cancellationToken)
    {
        var path = PathOf(objectKey);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var partial = path + ".partial";
        try
        {
            await using var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            await content.CopyToAsync(file, 1 << 16, cancellationToken);
            if (file.Length != length)
            {
                throw new IOException($"Expected {length} bytes, received {file.Length}.");
            }

            await file.FlushAsync(cancellationToken);
            file.Flush(flushToDisk: true);
        }
        catch
        {
            // A failed or abandoned write leaves nothing behind.
            File.Delete(partial);
            throw;
        }

        File.Move(partial, path, overwrite: true);
    }

    /// <inheritdoc />
    public Task<Stream> OpenReadAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken)
    {
        var file = new FileStream(PathOf(objectKey), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        file.Seek(offset, SeekOrigin.Begin);
        return Task.FromResult<Stream>(length is { } count ? new BoundedStream(file, count) : file);
    }

    /// <inheritdoc />
    public Task DeleteAsync(string objectKey, CancellationToken cancellationToken)
    {
        var path = PathOf(objectKey);
        File.Delete(path);
        File.Delete(path + ".partial");
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StoredObject> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var tenants = Path.Combine(root, "tenants");
        if (!Directory.Exists(tenants))
        {
            yield break;
        }

        foreach (var file in new DirectoryInfo(tenants).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            cancellationToken.ThrowIfCancellationRequested();
            // A ".partial" file is a write a crash cut short: it is listed under the key it was meant for.
            var key = Path.GetRelativePath(root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            key = key.EndsWith(".partial", StringComparison.Ordinal) ? key[..^".partial".Length] : key;
            if (ArtifactKeys.IsGenerated(key))
            {
                yield return new StoredObject(key, file.LastWriteTimeUtc);
            }
        }

        await Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<Uri?> GetDownloadUrlAsync(string objectKey, TimeSpan validFor, CancellationToken cancellationToken) => Task.FromResult<Uri?>(null);

    private string PathOf(string objectKey) => ArtifactKeys.IsStorable(objectKey)
        ? Path.Combine(root, objectKey)
        : throw new ArgumentException("Not a generated artifact key.", nameof(objectKey));
}

/// <summary>Reads at most a given number of bytes of an inner stream, then ends (for HTTP Range requests).</summary>
public sealed class BoundedStream(Stream inner, long length) : ForwardReadStream(inner)
{
    private long _remaining = length;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_remaining <= 0)
        {
            return 0;
        }

        var read = await Inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken);
        _remaining -= read;
        return read;
    }
}

/// <summary>The plumbing of a read-only, forward-only stream over another; subclasses decide what a read does.</summary>
public abstract class ForwardReadStream(Stream inner) : Stream
{
    protected Stream Inner { get; } = inner;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await Inner.DisposeAsync();
        await base.DisposeAsync();
    }
}
