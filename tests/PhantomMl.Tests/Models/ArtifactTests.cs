using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using PhantomMl.Grains.Models;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Models;

/// <summary>Artifacts on both stores: a folder (single machine) and S3 through the Minio SDK (moto).</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class ArtifactTests(ArtifactSilosFixture fixture) : IClassFixture<ArtifactSilosFixture>
{
    private const int SixtyFourMiB = 64 << 20;

    [Theory]
    [InlineData("filesystem")]
    [InlineData("s3")]
    public async Task A_64_MiB_artifact_round_trips_with_its_checksum_and_ranges(string store)
    {
        var api = fixture.Stores[store];
        var (path, key) = await VersionAsync(api, "big");
        var bytes = RandomNumberGenerator.GetBytes(SixtyFourMiB);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));

        var uploaded = await UploadAsync(api, path, key, bytes, sha, HttpStatusCode.Created);
        Assert.Equal(SixtyFourMiB, uploaded.GetProperty("sizeBytes").GetInt64());
        Assert.Equal(sha, uploaded.GetProperty("sha256").GetString());
        Assert.Equal(store, uploaded.GetProperty("storageProvider").GetString());
        Assert.StartsWith("tenants/", uploaded.GetProperty("storagePath").GetString());
        Assert.Equal(store == "s3" ? ArtifactSilosFixture.KmsKeyId : null, uploaded.GetProperty("encryptionKeyId").GetString());

        using (var download = await api.Silo.SendAsync(HttpMethod.Get, $"{path}/artifact", key))
        {
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            await using var body = await download.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken);
            Assert.Equal(sha, Convert.ToHexStringLower(await SHA256.HashDataAsync(body, TestContext.Current.CancellationToken)));
        }

        using (var ranged = await api.Silo.SendAsync(HttpMethod.Get, $"{path}/artifact", key, headers: new Dictionary<string, string> { ["Range"] = "bytes=1000000-1999999" }))
        {
            Assert.Equal(HttpStatusCode.PartialContent, ranged.StatusCode);
            Assert.Equal($"bytes 1000000-1999999/{SixtyFourMiB}", ranged.Content.Headers.ContentRange?.ToString());
            Assert.Equal(bytes[1_000_000..2_000_000], await ranged.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        }

        using (var tail = await api.Silo.SendAsync(HttpMethod.Get, $"{path}/artifact", key, headers: new Dictionary<string, string> { ["Range"] = "bytes=-10" }))
        {
            Assert.Equal(bytes[^10..], await tail.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        }

        using (var beyond = await api.Silo.SendAsync(HttpMethod.Get, $"{path}/artifact", key, headers: new Dictionary<string, string> { ["Range"] = $"bytes={SixtyFourMiB}-" }))
        {
            Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, beyond.StatusCode);
        }

        var verified = await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/artifact/verify", key);
        Assert.True(verified.GetProperty("intact").GetBoolean());
        await UploadAsync(api, path, key, [1, 2, 3], null, HttpStatusCode.Conflict);
    }

    [Theory]
    [InlineData("filesystem")]
    [InlineData("s3")]
    public async Task A_wrong_client_checksum_stores_nothing_and_counts_nothing(string store)
    {
        var api = fixture.Stores[store];
        var (path, key) = await VersionAsync(api, "sum");
        var problem = await UploadAsync(api, path, key, RandomNumberGenerator.GetBytes(4096), new string('0', 64), HttpStatusCode.BadRequest);
        Assert.Contains("SHA-256", problem.GetProperty("detail").GetString());
        await api.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{path}/artifact/metadata", key);
        var tenant = path.Split('/')[4];
        // Nothing in the store either: the streamed object was deleted when the checksum refused it.
        Assert.Empty(await ObjectsOfTenantAsync(api, store, tenant, key));
        var used = (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/quotas", key)).EnumerateArray()
            .Single(q => q.GetProperty("resource").GetString() == "artifact_bytes").GetProperty("used").GetInt64();
        Assert.Equal(0, used);
        // The version can still take its artifact.
        await UploadAsync(api, path, key, RandomNumberGenerator.GetBytes(4096), null, HttpStatusCode.Created);
    }

    [Theory]
    [InlineData("filesystem")]
    [InlineData("s3")]
    public async Task A_corrupted_stored_object_is_detected_on_verification(string store)
    {
        var api = fixture.Stores[store];
        var (path, key) = await VersionAsync(api, "rot");
        var artifact = await UploadAsync(api, path, key, RandomNumberGenerator.GetBytes(100_000), null, HttpStatusCode.Created);
        var objectKey = artifact.GetProperty("storagePath").GetString()!;

        // Flip the stored bytes behind the platform's back, as disk rot or a stray writer would.
        if (store == "filesystem")
        {
            var file = Path.Combine(ArtifactRoot(api), objectKey);
            var content = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
            content[5000] ^= 0xFF;
            await File.WriteAllBytesAsync(file, content, TestContext.Current.CancellationToken);
        }
        else
        {
            var s3 = new PhantomMl.Grains.Adapters.S3.S3ArtifactStore(ArtifactSilosFixture.S3ConnectionString);
            await s3.PutAsync(objectKey, new MemoryStream(new byte[99_999]), 99_999, TestContext.Current.CancellationToken);
        }

        var verified = await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/artifact/verify", key);
        Assert.False(verified.GetProperty("intact").GetBoolean());
        Assert.NotEqual(verified.GetProperty("recordedSha256").GetString(), verified.GetProperty("actualSha256").GetString());
    }

    [Theory]
    [InlineData("filesystem")]
    [InlineData("s3")]
    public async Task Another_tenant_cannot_reach_an_artifact_and_deleting_the_model_deletes_its_objects(string store)
    {
        var api = fixture.Stores[store];
        var (path, key) = await VersionAsync(api, "own");
        var (_, otherKey) = await api.CreateTenantWithAdminAsync("thief");
        var artifact = await UploadAsync(api, path, key, RandomNumberGenerator.GetBytes(10_000), null, HttpStatusCode.Created);

        foreach (var (method, suffix) in new[] { (HttpMethod.Get, ""), (HttpMethod.Get, "/metadata"), (HttpMethod.Post, "/verify"), (HttpMethod.Get, "/url") })
        {
            await api.ExpectAsync(HttpStatusCode.NotFound, method, $"{path}/artifact{suffix}", otherKey);
        }

        await UploadAsync(api, path.Replace("/versions/1", "/versions/2"), otherKey, [1], null, HttpStatusCode.NotFound);

        if (store == "s3")
        {
            var url = (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{path}/artifact/url?expiresIn=60", key)).GetProperty("url").GetString();
            using var direct = await new HttpClient().GetAsync(url, TestContext.Current.CancellationToken);
            Assert.Equal("aws:kms", direct.Headers.GetValues("x-amz-server-side-encryption").Single());
            Assert.Equal(10_000, (await direct.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken)).Length);
        }
        else
        {
            await api.ExpectAsync(HttpStatusCode.NotImplemented, HttpMethod.Get, $"{path}/artifact/url", key);
        }

        var modelPath = path[..path.IndexOf("/versions/", StringComparison.Ordinal)];
        var model = await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, modelPath, key);
        using (var deleted = await api.SendAsync(HttpMethod.Delete, modelPath, key, headers: new Dictionary<string, string> { ["If-Match"] = $"\"{model.GetProperty("eTag").GetInt64()}\"" }))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await AssertObjectGoneAsync(api, store, artifact.GetProperty("storagePath").GetString()!);
    }

    [Theory]
    [InlineData("filesystem")]
    [InlineData("s3")]
    public async Task Deleting_a_version_deletes_its_object_and_releases_its_quota_but_the_active_one_stays(string store)
    {
        var api = fixture.Stores[store];
        var (path, key) = await VersionAsync(api, "delver");
        var artifact = await UploadAsync(api, path, key, RandomNumberGenerator.GetBytes(20_000), null, HttpStatusCode.Created);
        var modelPath = path[..path.IndexOf("/versions/", StringComparison.Ordinal)];
        var model = await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, modelPath, key);
        model = await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/activate", key, headers: ETag(model));
        await api.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Delete, path, key, headers: ETag(model));

        await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{modelPath}/versions", key, new { version = "2" });
        model = await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, modelPath, key);
        model = await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{modelPath}/versions/2/activate", key, headers: ETag(model));
        await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Delete, path, key, headers: ETag(model));

        await api.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{path}/artifact/metadata", key);
        await AssertObjectGoneAsync(api, store, artifact.GetProperty("storagePath").GetString()!);

        var tenant = path.Split('/')[4];
        var usage = (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/quotas", key)).EnumerateArray()
            .ToDictionary(q => q.GetProperty("resource").GetString()!, q => q.GetProperty("used").GetInt64());
        Assert.Equal(0, usage["artifact_bytes"]);
        Assert.Equal(1, usage["model_versions"]);
    }

    [Theory]
    [InlineData("filesystem")]
    [InlineData("s3")]
    public async Task The_SDK_streams_an_artifact_both_ways_in_chunks_and_checks_its_checksum(string store)
    {
        var api = fixture.Stores[store];
        var (path, key) = await VersionAsync(api, "sdk");
        var tenant = path.Split('/')[4];
        var token = TestContext.Current.CancellationToken;
        await using var client = await fixture.ConnectAsync(store, key);
        var bytes = RandomNumberGenerator.GetBytes((10 << 20) + 12_345); // three 4 MiB chunks, the last one short
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));

        var uploaded = await client.UploadModelArtifactAsync(tenant, "m", "1", new MemoryStream(bytes), expectedSha256: sha, cancellationToken: token);
        Assert.Equal((bytes.LongLength, sha, store), (uploaded.SizeBytes, uploaded.Sha256, uploaded.StorageProvider));

        var downloaded = new MemoryStream();
        await client.DownloadModelArtifactAsync(tenant, "m", "1", downloaded, token);
        Assert.Equal(bytes, downloaded.ToArray());
        Assert.Equal(bytes[((4 << 20) - 2)..((4 << 20) + 3)], await client.ReadModelArtifactRangeAsync(tenant, "m", "1", (4 << 20) - 2, 5, token));
        using (var http = await api.Silo.SendAsync(HttpMethod.Get, $"{path}/artifact", key))
        {
            Assert.Equal(bytes, await http.Content.ReadAsByteArrayAsync(token));
        }

        // A wrong checksum stores nothing.
        await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/m/versions", key, new { version = "2" });
        var mismatch = await Assert.ThrowsAsync<PhantomException>(() =>
            client.UploadModelArtifactAsync(tenant, "m", "2", new MemoryStream(bytes[..1000]), expectedSha256: sha, cancellationToken: token));
        Assert.Equal(400, mismatch.Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<PhantomException>(() => client.GetModelArtifactAsync(tenant, "m", "2", token))).Status);
    }

    [Theory]
    [InlineData("filesystem")]
    [InlineData("s3")]
    public async Task Through_the_SDK_another_tenant_cannot_read_an_artifact_nor_write_into_an_upload_and_an_abandoned_upload_leaves_nothing(string store)
    {
        var api = fixture.Stores[store];
        var (path, key) = await VersionAsync(api, "sdkown");
        var tenant = path.Split('/')[4];
        var (_, otherKey) = await api.CreateTenantWithAdminAsync("sdkthief");
        var token = TestContext.Current.CancellationToken;
        await using var owner = await fixture.ConnectAsync(store, key);
        await using var thief = await fixture.ConnectAsync(store, otherKey);
        var artifact = await owner.UploadModelArtifactAsync(tenant, "m", "1", new MemoryStream(RandomNumberGenerator.GetBytes(5000)), cancellationToken: token);

        Assert.Equal(404, (await Assert.ThrowsAsync<PhantomException>(() => thief.DownloadModelArtifactAsync(tenant, "m", "1", new MemoryStream(), token))).Status);
        // The reader finds objects through the owner's model only: another tenant's key gets 404 however it names it.
        var reader = thief.Grains.GetGrain<IArtifactReaderGrain>(0);
        Assert.Equal(404, (await Assert.ThrowsAsync<PhantomException>(() => reader.ReadAsync(tenant, "m", "1", 0, 100))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<PhantomException>(() => reader.ReadAsync(tenant, "m", artifact.Version, 0, 100))).Status);

        // An upload begun by the owner cannot be written or completed with another key, under either tenant's key.
        await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/m/versions", key, new { version = "2" });
        var ticket = await owner.CallAsync(grains => grains.Model(tenant, "m").PrepareArtifactUploadAsync("2", 3), token);
        var upload = owner.Grains.ArtifactUpload(tenant, "m", ticket.UploadId);
        await upload.BeginAsync();
        var hijack = thief.Grains.ArtifactUpload(tenant, "m", ticket.UploadId);
        Assert.Equal(404, (await Assert.ThrowsAsync<PhantomException>(() => hijack.WriteAsync(0, [6, 6, 6]))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<PhantomException>(() => hijack.CompleteAsync(null))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<PhantomException>(() => hijack.BeginAsync())).Status);

        // Abandoned half way: no object, no partial file, nothing recorded.
        Assert.Equal(1, await upload.WriteAsync(0, [1]));
        Assert.Equal(409, (await Assert.ThrowsAsync<PhantomException>(() => upload.WriteAsync(2, [3]))).Status);
        await upload.AbortAsync();
        await AssertObjectGoneAsync(api, store, ticket.ObjectKey);
        if (store == "filesystem")
        {
            Assert.False(File.Exists(Path.Combine(ArtifactRoot(api), ticket.ObjectKey + ".partial")));
        }

        Assert.Equal(404, (await Assert.ThrowsAsync<PhantomException>(() => owner.GetModelArtifactAsync(tenant, "m", "2", token))).Status);
        await owner.UploadModelArtifactAsync(tenant, "m", "2", new MemoryStream([1, 2, 3]), cancellationToken: token);
        Assert.Equal([1, 2, 3], await owner.ReadModelArtifactRangeAsync(tenant, "m", "2", 0, 10, token));
    }

    [Theory]
    [InlineData("filesystem")]
    [InlineData("s3")]
    public async Task The_orphan_sweep_deletes_only_unreferenced_objects_past_the_grace_period(string store)
    {
        var api = fixture.Stores[store];
        var (path, key) = await VersionAsync(api, "sweep");
        var kept = (await UploadAsync(api, path, key, RandomNumberGenerator.GetBytes(3000), null, HttpStatusCode.Created)).GetProperty("storagePath").GetString()!;

        // What a crash between storing an object and recording it leaves: an object no row references.
        var orphan = kept[..(kept.LastIndexOf('/') + 1)] + Guid.NewGuid().ToString("N");
        if (store == "filesystem")
        {
            await File.WriteAllBytesAsync(Path.Combine(ArtifactRoot(api), orphan), [1, 2, 3], TestContext.Current.CancellationToken);
        }
        else
        {
            var s3 = new PhantomMl.Grains.Adapters.S3.S3ArtifactStore(ArtifactSilosFixture.S3ConnectionString);
            await s3.PutAsync(orphan, new MemoryStream([1, 2, 3]), 3, TestContext.Current.CancellationToken);
        }

        // Within the grace period (it may be an upload in flight), it stays.
        var early = await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, "/api/v1/maintenance/artifact-sweep", api.Silo.AdminKey);
        Assert.DoesNotContain(orphan, early.GetProperty("deleted").EnumerateArray().Select(k => k.GetString()));
        Assert.True(early.GetProperty("tooRecent").GetInt64() >= 1);
        await api.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, "/api/v1/maintenance/artifact-sweep?olderThanSeconds=-1", api.Silo.AdminKey);
        await api.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, "/api/v1/maintenance/artifact-sweep?olderThanSeconds=0", key);

        var swept = await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, "/api/v1/maintenance/artifact-sweep?olderThanSeconds=0", api.Silo.AdminKey);
        Assert.Contains(orphan, swept.GetProperty("deleted").EnumerateArray().Select(k => k.GetString()));
        Assert.DoesNotContain(kept, swept.GetProperty("deleted").EnumerateArray().Select(k => k.GetString()));
        await AssertObjectGoneAsync(api, store, orphan);
        var verified = await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/artifact/verify", key);
        Assert.True(verified.GetProperty("intact").GetBoolean());
    }

    /// <summary>The keys of every object the store holds for the tenant (listed, not looked up one by one).</summary>
    private static async Task<List<string>> ObjectsOfTenantAsync(PlatformApi api, string store, string tenant, string key)
    {
        var tenantId = Guid.Parse((await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", key)).GetProperty("id").GetString()!);
        PhantomMl.Grains.Models.IArtifactStore artifacts = store == "filesystem"
            ? new PhantomMl.Grains.Adapters.FileSystem.FileSystemArtifactStore(ArtifactRoot(api))
            : new PhantomMl.Grains.Adapters.S3.S3ArtifactStore(ArtifactSilosFixture.S3ConnectionString);
        var objects = new List<string>();
        await foreach (var stored in artifacts.ListAsync(TestContext.Current.CancellationToken))
        {
            if (stored.Key.StartsWith($"tenants/{tenantId:N}/", StringComparison.Ordinal))
            {
                objects.Add(stored.Key);
            }
        }

        return objects;
    }

    private static async Task AssertObjectGoneAsync(PlatformApi api, string store, string objectKey)
    {
        if (store == "filesystem")
        {
            Assert.False(File.Exists(Path.Combine(ArtifactRoot(api), objectKey)));
        }
        else
        {
            var s3 = new PhantomMl.Grains.Adapters.S3.S3ArtifactStore(ArtifactSilosFixture.S3ConnectionString);
            await Assert.ThrowsAnyAsync<IOException>(() => s3.OpenReadAsync(objectKey, 0, null, TestContext.Current.CancellationToken));
        }
    }

    [Fact]
    public async Task A_renamed_models_artifacts_follow_it_and_an_upload_that_ends_after_the_rename_records_nothing()
    {
        var api = fixture.Stores["filesystem"];
        var (path, key) = await VersionAsync(api, "renamed");
        var models = path[..path.IndexOf("/m/versions/1", StringComparison.Ordinal)];
        var bytes = RandomNumberGenerator.GetBytes(1 << 20);
        await UploadAsync(api, path, key, bytes, null, HttpStatusCode.Created);
        await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{models}/m/versions", key, new { version = "2" });

        // Version 2's upload starts under the old name, the model is renamed while its bytes are on the way, then it ends.
        // 16 MiB is more than the sockets and Kestrel buffer: once the first half is out, the silo is reading the body,
        // so it has its upload ticket.
        var gate = new GatedContent(RandomNumberGenerator.GetBytes(32 << 20));
        var upload = api.Silo.SendAsync(HttpMethod.Put, $"{models}/m/versions/2/artifact", key, gate);
        await gate.HalfSent.WaitAsync(TestContext.Current.CancellationToken);
        var model = await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/m", key);
        await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{models}/m/rename", key, new { newName = "m2" }, ETag(model));
        gate.Release();
        using (var refused = await upload)
        {
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        }

        await api.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{models}/m2/versions/2/artifact", key);
        using var download = await api.Silo.SendAsync(HttpMethod.Get, $"{models}/m2/versions/1/artifact", key);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(bytes, await download.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        await UploadAsync(api, $"{models}/m2/versions/2", key, bytes, null, HttpStatusCode.Created);
    }

    /// <summary>A body sent in two halves: the second only after <see cref="Release"/>.</summary>
    private sealed class GatedContent : HttpContent
    {
        private readonly byte[] _bytes;
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _halfSent = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public GatedContent(byte[] bytes)
        {
            _bytes = bytes;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            Headers.ContentLength = bytes.Length;
        }

        public Task HalfSent => _halfSent.Task;

        public void Release() => _released.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            var half = _bytes.Length / 2;
            await stream.WriteAsync(_bytes.AsMemory(0, half));
            await stream.FlushAsync();
            _halfSent.TrySetResult();
            await _released.Task;
            await stream.WriteAsync(_bytes.AsMemory(half));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _bytes.Length;
            return true;
        }
    }

    private static Dictionary<string, string> ETag(System.Text.Json.JsonElement model) => new() { ["If-Match"] = $"\"{model.GetProperty("eTag").GetInt64()}\"" };

    /// <summary>A tenant, a model and its version "1"; returns the version's path and the tenant admin's key.</summary>
    private static async Task<(string Path, string Key)> VersionAsync(PlatformApi api, string label)
    {
        var (tenant, key) = await api.CreateTenantWithAdminAsync(label);
        await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "m", modelType = "classifier", algorithm = "fasttree" });
        await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/m/versions", key, new { version = "1" });
        return ($"/api/v1/tenants/{tenant}/models/m/versions/1", key);
    }

    private static async Task<System.Text.Json.JsonElement> UploadAsync(PlatformApi api, string path, string key, byte[] bytes, string? sha, HttpStatusCode expected)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var headers = sha is null ? null : new Dictionary<string, string> { ["X-Content-Sha256"] = sha };
        return await api.ExpectAsync(expected, HttpMethod.Put, $"{path}/artifact", key, content, headers);
    }

    private static string ArtifactRoot(PlatformApi api) => api.Silo.ArtifactRoot;
}
