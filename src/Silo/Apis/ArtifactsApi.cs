using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using PhantomMl.Grains;
using PhantomMl.Grains.Adapters.FileSystem;
using PhantomMl.Grains.Models;

namespace PhantomMl.Silo.Apis;

/// <summary>
/// A model version's artifact, streamed end to end in both directions (no whole file in memory). The grain
/// authorizes and records; this API moves the bytes between the client and the store, hashing them on the way.
/// </summary>
public static partial class ArtifactsApi
{
    /// <summary>Largest artifact accepted in one upload: 50 GiB.</summary>
    public const long MaxArtifactBytes = 50L << 30;

    /// <summary>Maps <c>.../models/{name}/versions/{version}/artifact</c>.</summary>
    public static IEndpointRouteBuilder MapArtifactsApi(this IEndpointRouteBuilder routes)
    {
        var artifact = routes.MapGroup("/api/v1/tenants/{tenantKey}/models/{name}/versions/{version}/artifact").WithTags("Artifacts");
        artifact.MapPut("/", UploadAsync)
            .WithSummary("Upload the version's artifact as the raw body (Content-Length required; X-Content-Sha256 checked when sent)");
        artifact.MapGet("/", DownloadAsync).WithSummary("Download the artifact; single HTTP ranges supported (206)");
        artifact.MapGet("/metadata", GetMetadataAsync).WithSummary("Size, SHA-256, provider and path of the artifact");
        artifact.MapPost("/verify", VerifyAsync).WithSummary("Re-read the stored artifact and check its SHA-256 and size");
        artifact.MapGet("/url", GetUrlAsync).WithSummary("A presigned download URL (S3 store)");
        return routes;
    }

    /// <summary>A presigned download URL and when it stops working.</summary>
    public sealed record ArtifactUrl(Uri Url, DateTimeOffset ExpiresAt);

    private static async Task<Ok<ArtifactView>> GetMetadataAsync(string tenantKey, string name, string version, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Model(tenantKey, name).GetArtifactAsync(version));

    private static async Task<Ok<ArtifactVerification>> VerifyAsync(string tenantKey, string name, string version, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Model(tenantKey, name).VerifyArtifactAsync(version));

    private static async Task<Ok<ArtifactUrl>> GetUrlAsync(string tenantKey, string name, string version, int? expiresIn, IGrainFactory grains)
    {
        var validFor = TimeSpan.FromSeconds(expiresIn ?? 900);
        var url = await grains.Model(tenantKey, name).GetArtifactUrlAsync(version, validFor)
            ?? throw new PhantomException(StatusCodes.Status501NotImplemented, ProblemTypes.NoPresignedUrls,
                "This store has no download URLs", "The filesystem artifact store serves downloads through this API only.");
        return TypedResults.Ok(new ArtifactUrl(url, DateTimeOffset.UtcNow + validFor));
    }

    private static async Task<Created<ArtifactView>> UploadAsync(string tenantKey, string name, string version, HttpContext http,
        IGrainFactory grains, IArtifactStore store)
    {
        var length = http.Request.ContentLength ?? throw new PhantomException(StatusCodes.Status411LengthRequired,
            ProblemTypes.LengthRequired, "Content-Length required", "Send the artifact's size in Content-Length.");
        if (length > MaxArtifactBytes)
        {
            throw new PhantomException(StatusCodes.Status413PayloadTooLarge, ProblemTypes.PayloadTooLarge,
                "The artifact is too large", $"An artifact is at most {MaxArtifactBytes >> 30} GiB.");
        }

        var expected = http.Request.Headers["X-Content-Sha256"].ToString() is { Length: > 0 } header
            ? Sha256Hex().IsMatch(header)
                ? header.ToLowerInvariant()
                : throw PhantomException.Invalid("X-Content-Sha256 must be 64 hex digits.", "X-Content-Sha256")
            : null;
        http.Features.Get<IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = MaxArtifactBytes;

        var model = grains.Model(tenantKey, name);
        var ticket = await model.PrepareArtifactUploadAsync(version, length);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var body = new HashingReadStream(http.Request.Body, hash);
        try
        {
            await store.PutAsync(ticket.ObjectKey, body, length, http.RequestAborted);
        }
        catch (Exception e) when (e is IOException or BadHttpRequestException or OperationCanceledException)
        {
            await model.AbandonArtifactUploadAsync(ticket.UploadId);
            throw PhantomException.Invalid($"The upload did not complete: {e.Message}", "body");
        }

        // What was measured here, not what the client announced, is what the model grain records.
        var artifact = await model.CompleteArtifactUploadAsync(ticket.UploadId, body.BytesRead, Convert.ToHexStringLower(hash.GetHashAndReset()),
            expected);
        return TypedResults.Created($"/api/v1/tenants/{tenantKey}/models/{name}/versions/{Uri.EscapeDataString(ticket.Version)}/artifact", artifact);
    }

    // Writes the response itself: the bytes stream from the store, one range at most, never whole in memory.
    private static async Task DownloadAsync(string tenantKey, string name, string version, HttpContext http, IGrainFactory grains,
        IArtifactStore store)
    {
        var artifact = await grains.Model(tenantKey, name).GetArtifactAsync(version);
        var (offset, count) = (0L, artifact.SizeBytes);
        var response = http.Response;
        response.Headers.AcceptRanges = "bytes";
        response.Headers.ETag = $"\"{artifact.Sha256}\"";
        response.Headers["X-Content-Sha256"] = artifact.Sha256;
        if (RangeHeaderValue.TryParse(http.Request.Headers.Range.ToString(), out var range) && range.Unit == "bytes" && range.Ranges.Count == 1)
        {
            var requested = range.Ranges.Single();
            (offset, count) = (requested.From, requested.To) switch
            {
                ({ } from, { } to) when from <= to && from < artifact.SizeBytes => (from, Math.Min(to, artifact.SizeBytes - 1) - from + 1),
                ({ } from, null) when from < artifact.SizeBytes => (from, artifact.SizeBytes - from),
                (null, { } suffix) when suffix > 0 => (Math.Max(0, artifact.SizeBytes - suffix), Math.Min(suffix, artifact.SizeBytes)),
                _ => (-1, 0),
            };
            if (offset < 0)
            {
                response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                response.Headers.ContentRange = $"bytes */{artifact.SizeBytes}";
                return;
            }

            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = $"bytes {offset}-{offset + count - 1}/{artifact.SizeBytes}";
        }

        response.ContentType = "application/octet-stream";
        response.ContentLength = count;
        await using var content = await store.OpenReadAsync(artifact.StoragePath, offset, count, http.RequestAborted);
        await content.CopyToAsync(response.Body, 1 << 16, http.RequestAborted);
    }

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex Sha256Hex();

    /// <summary>Passes the request body through while hashing and counting every byte read from it.</summary>
    internal sealed class HashingReadStream(Stream inner, IncrementalHash hash) : ForwardReadStream(inner)
    {
        public long BytesRead { get; private set; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await Inner.ReadAsync(buffer, cancellationToken);
            hash.AppendData(buffer.Span[..read]);
            BytesRead += read;
            return read;
        }
    }
}
