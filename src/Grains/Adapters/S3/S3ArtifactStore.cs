using System.Data.Common;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Minio;
using Minio.DataModel.Args;
using Minio.DataModel.Encryption;
using PhantomMl.Grains.Models;

namespace PhantomMl.Grains.Adapters.S3;

/// <summary>
/// Artifacts in an S3 bucket through the Minio SDK (large uploads go multipart). Reads, ranged or whole, use
/// a presigned GET with an HTTP Range header, because ranged GetObject is broken in Minio SDK 7.0.0.
/// Connection string: <c>Endpoint=http://host:port;AccessKey=...;SecretKey=...;Bucket=...[;Region=...][;KmsKeyId=...]</c>.
/// With <c>KmsKeyId</c>, every object is written with server-side encryption under that KMS key (SSE-KMS), and the
/// key id is recorded with each artifact. One bucket (or cluster) per deployment: the orphan sweep treats every
/// generated key in the bucket as belonging to this platform's database.
/// </summary>
public sealed class S3ArtifactStore : IArtifactStore
{
    private static readonly HttpClient Http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly IMinioClient _client;
    private readonly string _bucket;
    private readonly SSEKMS? _encryption;
    private readonly SemaphoreSlim _bucketReady = new(1, 1);
    private bool _bucketExists;

    /// <summary>Creates the store from a connection string.</summary>
    public S3ArtifactStore(string connectionString)
    {
        var settings = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var endpoint = new Uri(Required(settings, "Endpoint"));
        _bucket = Required(settings, "Bucket");
        var client = new MinioClient()
            .WithEndpoint(endpoint.Host, endpoint.Port)
            .WithCredentials(Required(settings, "AccessKey"), Required(settings, "SecretKey"))
            .WithSSL(endpoint.Scheme == Uri.UriSchemeHttps);
        if (settings.TryGetValue("Region", out var region) && region is string name && name.Length > 0)
        {
            client = client.WithRegion(name);
        }

        _client = client.Build();
        if (settings.TryGetValue("KmsKeyId", out var kms) && kms is string kmsKeyId && kmsKeyId.Length > 0)
        {
            EncryptionKeyId = kmsKeyId;
            _encryption = new SSEKMS(kmsKeyId);
        }
    }

    /// <inheritdoc />
    public string Provider => "s3";

    /// <inheritdoc />
    public string? EncryptionKeyId { get; }

    /// <inheritdoc />
    public async Task PutAsync(string objectKey, Stream content, long length, CancellationToken cancellationToken)
    {
        Guard(objectKey);
        await EnsureBucketAsync(cancellationToken);
        await _client.PutObjectAsync(new PutObjectArgs().WithBucket(_bucket).WithObject(objectKey).WithStreamData(content)
            .WithObjectSize(length).WithContentType("application/octet-stream").WithServerSideEncryption(_encryption), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken)
    {
        var url = await GetDownloadUrlAsync(objectKey, TimeSpan.FromMinutes(10), cancellationToken);
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (offset > 0 || length is not null)
        {
            request.Headers.Range = new RangeHeaderValue(offset, length is { } count ? offset + count - 1 : null);
        }

        var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            response.Dispose();
            throw response.StatusCode == System.Net.HttpStatusCode.NotFound
                ? new FileNotFoundException($"S3 has no object {objectKey}.")
                : new IOException($"S3 GET {objectKey} answered {(int)response.StatusCode}.");
        }

        return await response.Content.ReadAsStreamAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string objectKey, CancellationToken cancellationToken)
    {
        Guard(objectKey);
        await _client.RemoveObjectAsync(new RemoveObjectArgs().WithBucket(_bucket).WithObject(objectKey), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<Uri?> GetDownloadUrlAsync(string objectKey, TimeSpan validFor, CancellationToken cancellationToken)
    {
        Guard(objectKey);
        var url = await _client.PresignedGetObjectAsync(new PresignedGetObjectArgs().WithBucket(_bucket).WithObject(objectKey)
            .WithExpiry((int)validFor.TotalSeconds));
        return new Uri(url);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StoredObject> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        var listing = new ListObjectsArgs().WithBucket(_bucket).WithPrefix("tenants/").WithRecursive(true);
        await foreach (var item in _client.ListObjectsEnumAsync(listing, cancellationToken))
        {
            if (!item.IsDir && ArtifactKeys.IsGenerated(item.Key))
            {
                // An unreadable date counts as "just written": the sweep never deletes what it cannot date.
                yield return new StoredObject(item.Key,
                    DateTimeOffset.TryParse(item.LastModified, System.Globalization.CultureInfo.InvariantCulture,
                        System.Globalization.DateTimeStyles.AssumeUniversal, out var modified)
                        ? modified
                        : DateTimeOffset.MaxValue);
            }
        }
    }

    private async Task EnsureBucketAsync(CancellationToken cancellationToken)
    {
        if (_bucketExists)
        {
            return;
        }

        await _bucketReady.WaitAsync(cancellationToken);
        try
        {
            if (!await _client.BucketExistsAsync(new BucketExistsArgs().WithBucket(_bucket), cancellationToken))
            {
                await _client.MakeBucketAsync(new MakeBucketArgs().WithBucket(_bucket), cancellationToken);
            }

            _bucketExists = true;
        }
        finally
        {
            _bucketReady.Release();
        }
    }

    private static void Guard(string objectKey)
    {
        if (!ArtifactKeys.IsStorable(objectKey))
        {
            throw new ArgumentException("Not a generated artifact key.", nameof(objectKey));
        }
    }

    private static string Required(DbConnectionStringBuilder settings, string key) =>
        settings.TryGetValue(key, out var value) && value is string text && text.Length > 0
            ? text
            : throw new ArgumentException($"The S3 connection string needs {key}=.");
}
