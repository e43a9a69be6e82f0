using System.Net;
using System.Text.Json;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Cluster;

/// <summary>
/// Silos remember authenticated callers; a change must bind every silo on its very next call, not only the silo where it was
/// made: a revoked key, a disabled user, narrowed roles, a suspended tenant.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class CredentialChangeTests(ClusterDatabasesFixture fixture)
{
    [Fact]
    public async Task A_credential_change_binds_every_silo_on_its_next_call()
    {
        var clusterId = ClusterDatabasesFixture.NewClusterId();
        await using var first = await SiloProcess.StartAsync(clusterId, fixture.Databases);
        await using var second = await SiloProcess.StartAsync(clusterId, fixture.Databases);
        await Task.WhenAll(first.WaitUntilReadyAsync(), second.WaitUntilReadyAsync());
        var (viaFirst, viaSecond) = (new PlatformApi(first), new PlatformApi(second));
        var (tenant, adminKey) = await viaFirst.CreateTenantWithAdminAsync("credentials");
        // Predictions are served by stateless workers on the silo the request reaches, so each call checks the key on
        // that silo. Every check runs on both silos: whichever does not host the tenant's grain (where the change is
        // made) must learn of it. No such model exists: an authorized caller gets 404, a refused one 401 or 403.
        var predict = $"/api/v1/tenants/{tenant}/models/absent/versions/1/predict";
        var rows = new { rows = new[] { new Dictionary<string, double> { ["x"] = 1 } } };

        // Revocation: the key works on the second silo (which now remembers it), is revoked on the first, and the
        // second refuses it on the very next call.
        var revokedKey = await viaFirst.AddUserWithKeyAsync(tenant, "rita", ["ml-engineer"]);
        await BothAsync(viaFirst, viaSecond, HttpStatusCode.NotFound, HttpMethod.Post, predict, revokedKey, rows);
        var keyId = (await viaFirst.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/users/rita/api-keys", adminKey))[0].GetProperty("id").GetString();
        await viaFirst.ExpectAsync(HttpStatusCode.OK, HttpMethod.Delete, $"/api/v1/tenants/{tenant}/api-keys/{keyId}", adminKey);
        await BothAsync(viaFirst, viaSecond, HttpStatusCode.Unauthorized, HttpMethod.Post, predict, revokedKey, rows);

        // Narrowed roles: an ML engineer may predict; demoted to viewer, it may not, at once.
        var demotedKey = await viaFirst.AddUserWithKeyAsync(tenant, "dan", ["ml-engineer"]);
        await BothAsync(viaFirst, viaSecond, HttpStatusCode.NotFound, HttpMethod.Post, predict, demotedKey, rows);
        await viaFirst.ExpectAsync(HttpStatusCode.OK, HttpMethod.Patch, $"/api/v1/tenants/{tenant}/users/dan", adminKey, new { roles = new[] { "viewer" } });
        await BothAsync(viaFirst, viaSecond, HttpStatusCode.Forbidden, HttpMethod.Post, predict, demotedKey, rows);

        // A disabled user, and a suspended tenant.
        await viaFirst.ExpectAsync(HttpStatusCode.OK, HttpMethod.Patch, $"/api/v1/tenants/{tenant}/users/dan", adminKey, new { status = "disabled" });
        await BothAsync(viaFirst, viaSecond, HttpStatusCode.Unauthorized, HttpMethod.Post, predict, demotedKey, rows);
        await BothAsync(viaFirst, viaSecond, HttpStatusCode.NotFound, HttpMethod.Post, predict, adminKey, rows);
        await viaFirst.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/suspend", body: new { reason = "unpaid" });
        foreach (var suspended in await BothAsync(viaFirst, viaSecond, HttpStatusCode.Forbidden, HttpMethod.Post, predict, adminKey, rows))
        {
            Assert.EndsWith("tenant-suspended", suspended.GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task A_revocation_holds_across_a_restart_of_Redis_and_while_Redis_times_out()
    {
        await using var redis = await PrivateRedis.StartAsync();
        var clusterId = ClusterDatabasesFixture.NewClusterId();
        await using var first = await SiloProcess.StartAsync(clusterId, fixture.Databases, redis: redis.ConnectionString);
        await using var second = await SiloProcess.StartAsync(clusterId, fixture.Databases, redis: redis.ConnectionString);
        await Task.WhenAll(first.WaitUntilReadyAsync(), second.WaitUntilReadyAsync());
        var (viaFirst, viaSecond) = (new PlatformApi(first), new PlatformApi(second));
        var (tenant, adminKey) = await viaFirst.CreateTenantWithAdminAsync("restart");
        var predict = $"/api/v1/tenants/{tenant}/models/absent/versions/1/predict";
        var rows = new { rows = new[] { new Dictionary<string, double> { ["x"] = 1 } } };

        // Both silos remember the key, under the epoch Redis holds now.
        var key = await viaFirst.AddUserWithKeyAsync(tenant, "ruth", ["ml-engineer"]);
        await BothAsync(viaFirst, viaSecond, HttpStatusCode.NotFound, HttpMethod.Post, predict, key, rows);
        var keyId = (await viaFirst.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/users/ruth/api-keys", adminKey))[0].GetProperty("id").GetString();
        await viaFirst.ExpectAsync(HttpStatusCode.OK, HttpMethod.Delete, $"/api/v1/tenants/{tenant}/api-keys/{keyId}", adminKey);
        await BothAsync(viaFirst, viaSecond, HttpStatusCode.Unauthorized, HttpMethod.Post, predict, key, rows);

        // Redis restarts empty. Read as "0", the epoch went back to where the silos remembered the revoked key.
        await redis.RestartAsync();
        await BothAsync(viaFirst, viaSecond, HttpStatusCode.Unauthorized, HttpMethod.Post, predict, key, rows);

        // Redis holds every command: calls time out on it and go to PostgreSQL, answering as before (slower, never 500),
        // and a key revoked meanwhile is refused at once.
        var second_key = await viaFirst.AddUserWithKeyAsync(tenant, "rob", ["ml-engineer"]);
        await BothAsync(viaFirst, viaSecond, HttpStatusCode.NotFound, HttpMethod.Post, predict, second_key, rows);
        var secondKeyId = (await viaFirst.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/users/rob/api-keys", adminKey))[0].GetProperty("id").GetString();
        await redis.PauseAsync(TimeSpan.FromSeconds(15));
        await viaFirst.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", adminKey);
        await viaFirst.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", adminKey,
            new { name = "during-pause", modelType = "classifier", algorithm = "fasttree" });
        await viaSecond.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/during-pause", adminKey);
        await viaFirst.ExpectAsync(HttpStatusCode.OK, HttpMethod.Delete, $"/api/v1/tenants/{tenant}/api-keys/{secondKeyId}", adminKey);
        await BothAsync(viaFirst, viaSecond, HttpStatusCode.Unauthorized, HttpMethod.Post, predict, second_key, rows);

        // Once Redis answers again its copy may be the old epoch; within the floor's refresh every silo is past it.
        await Task.Delay(TimeSpan.FromSeconds(16) + TimeSpan.FromSeconds(6), TestContext.Current.CancellationToken);
        await BothAsync(viaFirst, viaSecond, HttpStatusCode.Unauthorized, HttpMethod.Post, predict, second_key, rows);
        await BothAsync(viaFirst, viaSecond, HttpStatusCode.NotFound, HttpMethod.Post, predict, adminKey, rows);
    }

    [Fact]
    public async Task A_revocation_waits_out_a_silo_that_cannot_acknowledge_and_that_silo_refuses_the_key_when_it_wakes()
    {
        var clusterId = ClusterDatabasesFixture.NewClusterId();
        await using var first = await SiloProcess.StartAsync(clusterId, fixture.Databases);
        await first.WaitUntilReadyAsync();
        var viaFirst = new PlatformApi(first);
        // Every grain a revocation calls activates while the first silo is alone (a first revocation), so they stay there
        // and the revocation below does not wait on the frozen silo for anything but the acknowledgement.
        var (tenant, adminKey) = await viaFirst.CreateTenantWithAdminAsync("frozen");
        var warmUp = await viaFirst.AddUserWithKeyAsync(tenant, "wally", ["ml-engineer"]);
        await viaFirst.ExpectAsync(HttpStatusCode.OK, HttpMethod.Delete, $"/api/v1/tenants/{tenant}/api-keys/{await KeyIdAsync(viaFirst, tenant, "wally", adminKey)}", adminKey);
        await viaFirst.ExpectAsync(HttpStatusCode.Unauthorized, HttpMethod.Get, $"/api/v1/tenants/{tenant}", warmUp);
        var key = await viaFirst.AddUserWithKeyAsync(tenant, "fred", ["ml-engineer"]);
        await using var second = await SiloProcess.StartAsync(clusterId, fixture.Databases);
        await second.WaitUntilReadyAsync();
        var viaSecond = new PlatformApi(second);
        // With two silos, the grain directory is split between them: the first silo looks the tenant's grain up once
        // more now, so that the revocation finds its address in the first silo's cache and not on the frozen silo.
        var keyId = await KeyIdAsync(viaFirst, tenant, "fred", adminKey);
        var predict = $"/api/v1/tenants/{tenant}/models/absent/versions/1/predict";
        var rows = new { rows = new[] { new Dictionary<string, double> { ["x"] = 1 } } };
        await BothAsync(viaFirst, viaSecond, HttpStatusCode.NotFound, HttpMethod.Post, predict, key, rows);

        // The second silo freezes, remembering the key: the push cannot reach it, so the revocation answers only once
        // the second silo's lease has run out (it can no longer trust what it knows without asking).
        second.Pause();
        var started = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await viaFirst.ExpectAsync(HttpStatusCode.OK, HttpMethod.Delete, $"/api/v1/tenants/{tenant}/api-keys/{keyId}", adminKey);
            Assert.True(started.Elapsed >= TimeSpan.FromSeconds(2.5), $"the revocation answered after {started.Elapsed} while a silo could not acknowledge");
        }
        finally
        {
            second.Resume();
        }

        Assert.Contains(first.LogLines(), line => line.Contains("did not acknowledge a credential change", StringComparison.Ordinal));
        // Awake, the second silo refuses the key on its very next call, and so does the first.
        await viaSecond.ExpectAsync(HttpStatusCode.Unauthorized, HttpMethod.Post, predict, key, rows);
        await viaFirst.ExpectAsync(HttpStatusCode.Unauthorized, HttpMethod.Post, predict, key, rows);
    }

    private static async Task<string> KeyIdAsync(PlatformApi api, string tenant, string user, string adminKey) =>
        (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/users/{user}/api-keys", adminKey))[0].GetProperty("id").GetString()!;

    private static Task<JsonElement[]> BothAsync(PlatformApi first, PlatformApi second, HttpStatusCode status, HttpMethod method, string path, string key, object body) =>
        Task.WhenAll(first.ExpectAsync(status, method, path, key, body), second.ExpectAsync(status, method, path, key, body));
}
