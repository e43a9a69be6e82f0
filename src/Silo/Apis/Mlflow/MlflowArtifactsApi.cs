using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.Features;
using PhantomMl.Grains;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Training;

namespace PhantomMl.Silo.Apis.Mlflow;

/// <summary>
/// MLflow's artifact proxy under <c>/api/2.0/mlflow-artifacts/artifacts</c>: a run's files, addressed as its artifact URI
/// says (<c>{experiment}/{run}/artifacts/{path}</c>), streamed to and from the platform's artifact store. The run's grain
/// checks the run, the path and the tenant's limits and records each file; the object key is generated, never the path.
/// </summary>
public static class MlflowArtifactsApi
{
    /// <summary>Maps the proxy's upload, download and listing under one prefix.</summary>
    public static RouteGroupBuilder MapMlflowArtifacts(this RouteGroupBuilder artifacts)
    {
        artifacts.MapPut("/artifacts/{**path}", UploadAsync);
        artifacts.MapGet("/artifacts/{**path}", DownloadAsync);
        artifacts.MapGet("/artifacts", ListAsync);
        return artifacts;
    }

    /// <summary>
    /// The entries directly under <paramref name="directory"/> of a run's files: files with their size, and each
    /// subdirectory once. Paths are relative to the directory (the proxy's listing) or to the run's root (the tracking API's).
    /// </summary>
    public static List<MlflowJson.Fields> Listing(IReadOnlyList<RunArtifactView> files, string directory, bool relative)
    {
        var prefix = directory.Trim('/') is { Length: > 0 } dir ? dir + "/" : "";
        var entries = new SortedDictionary<string, MlflowJson.Fields>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var rest = file.Path[prefix.Length..];
            var slash = rest.IndexOf('/');
            var name = slash < 0 ? rest : rest[..slash];
            var path = relative ? name : prefix + name;
            entries.TryAdd(name, slash < 0
                ? new MlflowJson.Fields { ["path"] = path, ["is_dir"] = false, ["file_size"] = file.SizeBytes }
                : new MlflowJson.Fields { ["path"] = path, ["is_dir"] = true });
        }

        return [.. entries.Values];
    }

    private static async Task<IResult> UploadAsync(string path, HttpContext http, IGrainFactory grains, MlflowTenants tenants, IArtifactStore store)
    {
        var (job, file) = await RunFileAsync(path, http, grains, tenants);
        var length = http.Request.ContentLength ?? throw new PhantomException(StatusCodes.Status411LengthRequired, ProblemTypes.LengthRequired,
            "Content-Length required", "Send the file's size in Content-Length.");
        var ticket = await job.PrepareRunArtifactAsync(file, length);
        http.Features.Get<IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = length;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var body = new ArtifactsApi.HashingReadStream(http.Request.Body, hash);
        try
        {
            await store.PutAsync(ticket.ObjectKey, body, length, http.RequestAborted);
        }
        catch (Exception e) when (e is IOException or BadHttpRequestException or OperationCanceledException)
        {
            await store.DeleteAsync(ticket.ObjectKey, CancellationToken.None);
            throw PhantomException.Invalid($"The upload did not complete: {e.Message}", "body");
        }

        try
        {
            await job.CompleteRunArtifactAsync(ticket, body.BytesRead, Convert.ToHexStringLower(hash.GetHashAndReset()));
        }
        catch
        {
            // Not recorded (a quota refused it, the run was deleted meanwhile): the stored bytes belong to nothing.
            await store.DeleteAsync(ticket.ObjectKey, CancellationToken.None);
            throw;
        }

        return MlflowJson.Empty();
    }

    private static async Task DownloadAsync(string path, HttpContext http, IGrainFactory grains, MlflowTenants tenants, IArtifactStore store)
    {
        var (job, file) = await RunFileAsync(path, http, grains, tenants);
        var location = await job.LocateRunArtifactAsync(file);
        http.Response.ContentType = "application/octet-stream";
        http.Response.ContentLength = location.Artifact.SizeBytes;
        http.Response.Headers["X-Content-Sha256"] = location.Artifact.Sha256;
        await using var content = await store.OpenReadAsync(location.ObjectKey, 0, location.Artifact.SizeBytes, http.RequestAborted);
        await content.CopyToAsync(http.Response.Body, 1 << 16, http.RequestAborted);
    }

    private static async Task<IResult> ListAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        var path = http.Request.Query["path"].ToString().Trim('/');
        var (job, directory) = await RunFileAsync(path, http, grains, tenants, directory: true);
        var files = await job.ListRunArtifactsAsync(directory);
        return MlflowJson.Ok(new Dictionary<string, object> { ["files"] = Listing(files, directory, relative: true) });
    }

    /// <summary>
    /// The run and the file a proxy path names: <c>{experiment}/{run}/artifacts/{file}</c>. A run of another experiment, or
    /// of another tenant, is 404 alike.
    /// </summary>
    private static async Task<(ITrainingJobGrain Job, string File)> RunFileAsync(string path, HttpContext http, IGrainFactory grains,
        MlflowTenants tenants, bool directory = false)
    {
        var parts = (path ?? "").Split('/', 4);
        if (parts.Length < 3 || parts[2] != "artifacts" || (!directory && parts.Length < 4))
        {
            throw PhantomException.NotFound("artifact", path ?? "");
        }

        var tenantKey = await tenants.OfAsync(http);
        var job = grains.TrainingJob(tenantKey, MlflowTrackingApi.RunId(parts[1]));
        var run = await job.GetRunAsync();
        if (run.ProjectId != parts[0])
        {
            throw PhantomException.NotFound("run", parts[1]);
        }

        return (job, parts.Length == 4 ? parts[3] : "");
    }
}
