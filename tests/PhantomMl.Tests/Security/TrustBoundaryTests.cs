using System.Net;
using System.Net.Http.Headers;
using Npgsql;
using PhantomMl.Client;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Security;

/// <summary>
/// The attacks of the trust review, each tried as an attacker would and shown refused, with the victim's data unchanged:
/// work before authorization, client-built references, unbounded work, broken audit, malformed values.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class TrustBoundaryTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    [Fact]
    public async Task An_unauthenticated_caller_makes_the_grains_do_no_database_work()
    {
        var (tenant, _) = await platform.CreateTenantWithAdminAsync("nowork");
        await using var stats = NpgsqlDataSource.Create(platform.Databases.PostgreSqlOwner);

        // The same interval twice: idle, then 200 calls with a key that cannot be one, each to a model grain never activated.
        var idle = await TransactionsDuringAsync(stats, () => Task.CompletedTask);
        var attacked = await TransactionsDuringAsync(stats, () =>
            Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            {
                using var response = await platform.SendAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/probe-{i}/versions", "x");
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            }));

        TestContext.Current.TestOutputHelper?.WriteLine($"transactions: {idle} idle, {attacked} during 200 unauthenticated calls");
        // Before authorization came first, each activation read the tenant and the model: at least 200 transactions.
        Assert.True(attacked - idle < 40, $"{attacked} transactions during the calls against {idle} idle");
    }

    [Fact]
    public async Task A_suspended_tenants_key_is_refused_everywhere_including_who_am_i()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("suspendme");
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/v1/me", key);
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/suspend", body: new { reason = "test" });

        var refused = await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Get, "/api/v1/me", key);
        Assert.EndsWith("tenant-suspended", refused.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Blank_names_duplicate_members_empty_artifacts_and_datasets_the_tenant_lacks_are_refused_and_change_nothing()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("blank");
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "m", modelType = "classifier", algorithm = "fasttree" });
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/m/versions", key, new { version = "1" });
        var tenantId = await TenantIdAsync(tenant);
        var before = await TenantState.SnapshotAsync(platform.Databases, tenantId);

        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"/api/v1/tenants/{tenant}/users/admin/api-keys", key, new { name = "   " });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Patch, $"/api/v1/tenants/{tenant}", body: new { name = " \t " });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            """{"name": "a", "name": "b", "modelType": "classifier", "algorithm": "fasttree"}""");
        var empty = new ByteArrayContent([]);
        empty.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Put, $"/api/v1/tenants/{tenant}/models/m/versions/1/artifact", key, empty);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"/api/v1/tenants/{tenant}/training-jobs", key, new
        {
            jobName = "nodata", modelName = "m", datasetUri = "model://no-such-dataset/versions/1",
            config = new { trainer = "builtin", task = "binary-classification", algorithm = "fasttree" },
        });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "n", modelType = "classifier", algorithm = "fasttree", tags = new Dictionary<string, string> { ["k"] = "v\u0000" } });

        Assert.Equal(before, await TenantState.SnapshotAsync(platform.Databases, tenantId));
    }

    [Fact]
    public async Task An_idempotency_key_names_one_request_of_one_caller()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("idemkey");
        var other = await platform.AddUserWithKeyAsync(tenant, "otto", ["ml-engineer"]);
        var headers = new Dictionary<string, string> { ["Idempotency-Key"] = "create-1" };
        var create = new { name = "first", modelType = "classifier", algorithm = "fasttree" };

        var first = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key, create, headers);
        var replay = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key, create, headers);
        Assert.Equal(first.GetProperty("id").GetString(), replay.GetProperty("id").GetString());

        // The same key for another request by the same caller is refused, and does nothing.
        var reused = await platform.ExpectAsync((HttpStatusCode)422, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "second", modelType = "classifier", algorithm = "fasttree" }, headers);
        Assert.EndsWith("idempotency-key-reused", reused.GetProperty("type").GetString());
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/second", key);

        // Another caller's request under the same key is another request.
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", other,
            new { name = "third", modelType = "classifier", algorithm = "fasttree" }, headers);
    }

    [Fact]
    public async Task Every_refused_attempt_has_its_own_audit_row_even_under_one_idempotency_key()
    {
        var (tenant, _) = await platform.CreateTenantWithAdminAsync("probes");
        var viewer = await platform.AddUserWithKeyAsync(tenant, "vic", ["viewer"]);
        var headers = new Dictionary<string, string> { ["Idempotency-Key"] = "probe" };
        for (var i = 0; i < 100; i++)
        {
            await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, $"/api/v1/tenants/{tenant}/users", viewer,
                new { userId = $"mole{i}", email = "m@x.test", roles = new[] { "tenant-admin" } }, headers);
        }

        var denied = (await platform.AuditAsync(tenant)).Count(row => row.GetProperty("action").GetString() == "add-user"
            && row.GetProperty("result").GetString() == "denied" && row.GetProperty("eventId").GetString()!.StartsWith("probe:", StringComparison.Ordinal));
        Assert.Equal(100, denied);
    }

    [Fact]
    public async Task Over_long_client_details_from_the_SDK_are_cut_with_a_marker_and_the_change_is_still_audited()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("longdetails");
        await using var client = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            MembershipConnectionString = platform.Databases.Membership,
            ClusterId = platform.ClusterId,
            ApiKey = key,
            SessionId = new string('s', 5000),
        }, TestContext.Current.CancellationToken);

        // What a client that builds its own call context can send: a request id far over the column's 255 characters.
        var requestId = new string('r', 5000) + "\u0000";
        RequestContext.Set(CallContext.RequestId, requestId);
        await client.Grains.Model(tenant, "long").CreateAsync(new CreateModel("classifier", "fasttree"));
        RequestContext.Clear();

        var row = (await platform.AuditAsync(tenant)).Single(r => r.GetProperty("action").GetString() == "create" && r.GetProperty("resourceId").GetString() == "long");
        var eventId = row.GetProperty("eventId").GetString()!;
        Assert.True(eventId.Length <= 255 && eventId.StartsWith("rrrr", StringComparison.Ordinal) && eventId.Contains("~cut:", StringComparison.Ordinal), eventId);
        var session = row.GetProperty("sessionId").GetString()!;
        Assert.True(session.Length <= 255 && session.Contains("~cut:", StringComparison.Ordinal), session);
    }

    [Fact]
    public async Task Artifact_uploads_are_bounded_by_the_tenants_file_size_and_storage_with_bytes_of_uploads_in_progress_reserved()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("uploadlimits", new { model_file_bytes = 1000, artifact_bytes = 1500 });
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "m", modelType = "classifier", algorithm = "fasttree" });
        foreach (var version in new[] { "1", "2", "3" })
        {
            await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/m/versions", key, new { version });
        }

        var tooLarge = new ByteArrayContent(new byte[1001]);
        tooLarge.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var refused = await platform.ExpectAsync(HttpStatusCode.RequestEntityTooLarge, HttpMethod.Put, $"/api/v1/tenants/{tenant}/models/m/versions/1/artifact", key, tooLarge);
        Assert.Equal("model_file_bytes", refused.GetProperty("field").GetString());

        // An upload in progress holds its bytes: a second one that would pass artifact_bytes with it is refused at once.
        await using var client = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            MembershipConnectionString = platform.Databases.Membership,
            ClusterId = platform.ClusterId,
            ApiKey = key,
        }, TestContext.Current.CancellationToken);
        var held = await client.CallAsync(grains => grains.Model(tenant, "m").PrepareArtifactUploadAsync("1", 900), TestContext.Current.CancellationToken);
        var over = await Assert.ThrowsAsync<PhantomException>(() =>
            client.CallAsync(grains => grains.Model(tenant, "m").PrepareArtifactUploadAsync("2", 900), TestContext.Current.CancellationToken));
        Assert.Equal((429, "artifact_bytes"), (over.Status, over.Extensions["quota"]));

        // Giving the held upload up frees its bytes; an upload that sends fewer bytes than its ticket says stores nothing.
        var upload = client.Grains.ArtifactUpload(tenant, "m", held.UploadId);
        await upload.BeginAsync();
        await upload.AbortAsync();
        // The SDK itself refuses to send a short stream, so this talks to the upload grain as a careless client would.
        var shortTicket = await client.CallAsync(grains => grains.Model(tenant, "m").PrepareArtifactUploadAsync("2", 900), TestContext.Current.CancellationToken);
        var shortUpload = client.Grains.ArtifactUpload(tenant, "m", shortTicket.UploadId);
        await shortUpload.BeginAsync();
        await shortUpload.WriteAsync(0, new byte[500]);
        var short_ = await Assert.ThrowsAsync<PhantomException>(() => shortUpload.CompleteAsync(null));
        Assert.True(short_.Status is 400, short_.Detail);
        await shortUpload.AbortAsync(); // the refused completion leaves the upload open to finish; this gives its bytes back
        await Assert.ThrowsAsync<EndOfStreamException>(() =>
            client.UploadModelArtifactAsync(tenant, "m", "2", new MemoryStream(new byte[500]), sizeBytes: 900, cancellationToken: TestContext.Current.CancellationToken));
        var stored = await client.UploadModelArtifactAsync(tenant, "m", "3", new MemoryStream(new byte[900]), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(900, stored.SizeBytes);
        var usage = (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/quotas", key)).EnumerateArray()
            .Single(q => q.GetProperty("resource").GetString() == "artifact_bytes").GetProperty("used").GetInt64();
        Assert.Equal(900, usage);
    }

    [Fact]
    public async Task Metric_batches_are_bounded_in_points_and_span_and_never_older_than_what_is_kept()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("metricbounds", new { metric_points_per_request = 100 });
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "m", modelType = "classifier", algorithm = "fasttree" });
        var job = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/training-jobs", key,
            new { jobName = "external", modelName = "m", datasetUri = "s3://elsewhere/data.csv" });
        var metrics = $"/api/v1/tenants/{tenant}/training-jobs/{job.GetProperty("id").GetString()}/metrics";
        var now = DateTimeOffset.UtcNow;

        var tooMany = Enumerable.Range(0, 101).Select(i => new { name = "loss", value = 1.0, step = i });
        await platform.ExpectAsync(HttpStatusCode.RequestEntityTooLarge, HttpMethod.Post, metrics, key, new { points = tooMany });
        // 150 months in one batch: the span that made one tenant's batch fail every other tenant's INSERT.
        var wide = Enumerable.Range(0, 20).Select(i => new { name = "loss", value = 1.0, step = i, timestamp = now.AddMonths(-i) });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, metrics, key, new { points = wide });
        var stale = new[] { new { name = "loss", value = 1.0, step = 0, timestamp = now.AddDays(-800) } };
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, metrics, key, new { points = stale });
        var blank = new[] { new { name = "  ", value = 1.0, step = 0, timestamp = now } };
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, metrics, key, new { points = blank });

        var fine = Enumerable.Range(0, 100).Select(i => new { name = "loss", value = 1.0, step = i, timestamp = now.AddDays(-i / 10.0) });
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, metrics, key, new { points = fine });
        var history = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{metrics}/loss", key);
        Assert.Equal(100, history.GetProperty("totalPoints").GetInt64());
    }

    private async Task<Guid> TenantIdAsync(string tenant) =>
        Guid.Parse((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}")).GetProperty("id").GetString()!);

    /// <summary>
    /// Transactions committed or rolled back in the platform's database while <paramref name="during"/> runs, plus a settling
    /// time: an idle PostgreSQL backend reports its statistics up to 10 s late, so each reading waits 11 s first.
    /// </summary>
    private static async Task<long> TransactionsDuringAsync(NpgsqlDataSource stats, Func<Task> during)
    {
        async Task<long> ReadAsync()
        {
            await Task.Delay(TimeSpan.FromSeconds(11));
            await using var command = stats.CreateCommand(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()");
            return (long)(await command.ExecuteScalarAsync())!;
        }

        var before = await ReadAsync();
        await during();
        return await ReadAsync() - before;
    }
}
