using System.Net;
using System.Text.Json;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Tenants;

[Collection(SiloProcessCollection.Name)]
public sealed class TenantApiTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    [Fact]
    public async Task Fifty_concurrent_requests_against_a_quota_of_ten_succeed_exactly_ten_times()
    {
        var (tenant, adminKey) = await platform.CreateTenantWithAdminAsync("quota", quotas: new { users = 11 }); // admin + 10

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            using var response = await platform.SendAsync(HttpMethod.Post, $"/api/v1/tenants/{tenant}/users", adminKey,
                new { userId = $"user-{i}", email = $"user-{i}@q.test", roles = new[] { "viewer" } });
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));

        Assert.Equal(10, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        var refused = responses.Where(r => r.StatusCode != HttpStatusCode.Created).ToList();
        Assert.Equal(40, refused.Count);
        Assert.All(refused, r =>
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode);
            Assert.Equal("users", JsonDocument.Parse(r.Body).RootElement.GetProperty("quota").GetString());
        });

        var users = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/users", adminKey);
        Assert.Equal(11, users.GetArrayLength());
        var quotas = (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/quotas", adminKey)).EnumerateArray().ToList();
        var quota = quotas.Single(q => q.GetProperty("resource").GetString() == "users");
        Assert.Equal(11, quota.GetProperty("used").GetInt64());
        Assert.Equal(11, quota.GetProperty("limit").GetInt64());
        Assert.Equal("gauge", quota.GetProperty("kind").GetString());
        // Every quota says how it counts and what it bounds; a monthly one names its month.
        Assert.All(quotas, q => Assert.False(string.IsNullOrWhiteSpace(q.GetProperty("bounds").GetString())));
        var monthly = quotas.Single(q => q.GetProperty("resource").GetString() == "inference_requests");
        Assert.Equal("monthly", monthly.GetProperty("kind").GetString());
        Assert.Equal(JsonValueKind.String, monthly.GetProperty("periodEnd").ValueKind);
        Assert.Equal("limit", quotas.Single(q => q.GetProperty("resource").GetString() == "predict_rows_per_request").GetProperty("kind").GetString());
        var audit = await platform.AuditAsync(tenant);
        Assert.Equal(40, audit.Count(row => row.GetProperty("action").GetString() == "add-user" && row.GetProperty("result").GetString() == "denied"));
    }

    [Fact]
    public async Task Every_mutation_and_every_refused_attempt_has_its_audit_row()
    {
        var (tenant, adminKey) = await platform.CreateTenantWithAdminAsync("audit");
        var viewerKey = await platform.AddUserWithKeyAsync(tenant, "vera", ["viewer"]);
        var steps = new (string IdempotencyKey, HttpStatusCode Status, HttpMethod Method, string Path, string? Key, object? Body, string Action, string Result)[]
        {
            ("s1", HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/users", adminKey, new { userId = "carl", email = "carl@a.test", roles = new[] { "ml-engineer" } }, "add-user", "success"),
            ("s2", HttpStatusCode.OK, HttpMethod.Patch, $"/api/v1/tenants/{tenant}/users/carl", adminKey, new { roles = new[] { "auditor" }, mfaEnabled = true }, "update-user", "success"),
            ("s3", HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/users/carl/api-keys", adminKey, new { name = "ci" }, "create-api-key", "success"),
            ("s4", HttpStatusCode.OK, HttpMethod.Patch, $"/api/v1/tenants/{tenant}", null, new { name = "Renamed", resourceQuotas = new { models = 7 } }, "update", "success"),
            ("s5", HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/suspend", null, new { reason = "billing" }, "suspend", "success"),
            ("s6", HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/reactivate", null, null, "reactivate", "success"),
            ("s7", HttpStatusCode.Forbidden, HttpMethod.Post, $"/api/v1/tenants/{tenant}/users", viewerKey, new { userId = "eve", email = "eve@a.test", roles = new[] { "tenant-admin" } }, "add-user", "denied"),
            ("s8", HttpStatusCode.Forbidden, HttpMethod.Patch, $"/api/v1/tenants/{tenant}", adminKey, new { name = "Mine now" }, "update", "denied"),
            ("s9", HttpStatusCode.Conflict, HttpMethod.Post, $"/api/v1/tenants/{tenant}/users", adminKey, new { userId = "carl", email = "c2@a.test", roles = new[] { "viewer" } }, "add-user", "failure"),
            ("s10", HttpStatusCode.BadRequest, HttpMethod.Post, $"/api/v1/tenants/{tenant}/users", adminKey, new { userId = "bad id!", email = "x@a.test", roles = new[] { "viewer" } }, "add-user", "failure"),
            ("s11", HttpStatusCode.Conflict, HttpMethod.Post, $"/api/v1/tenants/{tenant}/reactivate", null, null, "reactivate", "failure"),
        };

        foreach (var step in steps)
        {
            await platform.ExpectAsync(step.Status, step.Method, step.Path, step.Key, step.Body, new Dictionary<string, string> { ["Idempotency-Key"] = step.IdempotencyKey });
        }

        var keys = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/users/carl/api-keys", adminKey);
        var keyId = keys[0].GetProperty("id").GetString();
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Delete, $"/api/v1/tenants/{tenant}/api-keys/{keyId}", adminKey,
            headers: new Dictionary<string, string> { ["Idempotency-Key"] = "s12" });

        var audit = await platform.AuditAsync(tenant);
        var expected = steps.Select(s => (s.IdempotencyKey, s.Action, s.Result)).Append(("s12", "revoke-api-key", "success"));
        foreach (var (idempotencyKey, action, result) in expected)
        {
            // A refused or failed attempt is recorded under an event id of its own (the key, the result, a unique suffix),
            // beside any success of the same key.
            var eventId = result == "success" ? idempotencyKey : $"{idempotencyKey}:{result}:";
            var row = audit.SingleOrDefault(r => result == "success"
                ? r.GetProperty("eventId").GetString() == eventId
                : r.GetProperty("eventId").GetString()!.StartsWith(eventId, StringComparison.Ordinal));
            Assert.True(row.ValueKind == JsonValueKind.Object, $"no audit row {eventId} for {action}");
            Assert.Equal(action, row.GetProperty("action").GetString());
            Assert.Equal(result, row.GetProperty("result").GetString());
            Assert.Equal("127.0.0.1", row.GetProperty("ipAddress").GetString());
        }
    }

    [Fact]
    public async Task A_repeated_idempotency_key_applies_a_change_once()
    {
        var (tenant, adminKey) = await platform.CreateTenantWithAdminAsync("idem");
        var headers = new Dictionary<string, string> { ["Idempotency-Key"] = "add-dora-1" };
        var body = new { userId = "dora", email = "dora@a.test", roles = new[] { "viewer" } };

        var first = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/users", adminKey, body, headers);
        var again = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/users", adminKey, body, headers);

        Assert.Equal(first.GetProperty("id").GetString(), again.GetProperty("id").GetString());
        var used = (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/quotas", adminKey))
            .EnumerateArray().Single(q => q.GetProperty("resource").GetString() == "users").GetProperty("used").GetInt64();
        Assert.Equal(2, used); // admin and dora, dora once
        Assert.Single(await platform.AuditAsync(tenant), r => r.GetProperty("eventId").GetString() == "add-dora-1");
    }

    [Fact]
    public async Task Malformed_wrong_typed_oversized_and_invalid_input_is_refused_and_changes_nothing()
    {
        var (tenant, adminKey) = await platform.CreateTenantWithAdminAsync("input");
        var usersPath = $"/api/v1/tenants/{tenant}/users";
        (object Body, HttpStatusCode Status)[] inputs =
        [
            ("{\"userId\": \"x\",", HttpStatusCode.BadRequest),                                                  // malformed JSON
            ("{\"userId\": 42, \"email\": \"a@b.test\", \"roles\": [\"viewer\"]}", HttpStatusCode.BadRequest),      // wrong type
            ("{\"userId\": \"x\", \"email\": \"a@b.test\", \"roles\": \"viewer\"}", HttpStatusCode.BadRequest),    // wrong type
            ("{\"userId\": \"x\", \"email\": \"a@b.test\", \"roles\": [\"viewer\"], \"isAdmin\": true}", HttpStatusCode.BadRequest), // unknown member
            ("", HttpStatusCode.BadRequest),                                                                    // no body
            (new { userId = "../../etc/passwd", email = "a@b.test", roles = new[] { "viewer" } }, HttpStatusCode.BadRequest),
            (new { userId = "ok", email = "not-an-email", roles = new[] { "viewer" } }, HttpStatusCode.BadRequest),
            (new { userId = "ok", email = "a@b.test", roles = new[] { "platform-admin" } }, HttpStatusCode.BadRequest),
            (new { userId = "ok", email = "a@b.test", roles = Array.Empty<string>() }, HttpStatusCode.BadRequest),
            (new { userId = "ok", email = "a@b.test", roles = new[] { "viewer" }, permissions = new[] { "tenants:create" } }, HttpStatusCode.BadRequest),
            (new { userId = new string('u', 300), email = "a@b.test", roles = new[] { "viewer" } }, HttpStatusCode.BadRequest),
            (new { userId = "ok", email = new string('x', 2 << 20) + "@b.test", roles = new[] { "viewer" } }, HttpStatusCode.RequestEntityTooLarge),
        ];
        foreach (var (body, status) in inputs)
        {
            var problem = await platform.ExpectAsync(status, HttpMethod.Post, usersPath, adminKey, body);
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        }

        string[] badTenantKeys = ["Upper", "a", "-lead", "has space", "../x", "platform", new string('k', 64)];
        foreach (var key in badTenantKeys)
        {
            await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, "/api/v1/tenants", body: new { tenantKey = key, name = "x" });
        }

        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, "/api/v1/tenants",
            body: new { tenantKey = PlatformSiloFixture.NewTenantKey("tier"), name = "x", subscriptionTier = "gold" });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, "/api/v1/tenants",
            body: new { tenantKey = PlatformSiloFixture.NewTenantKey("quota"), name = "x", resourceQuotas = new { gpus = 1 } });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, "/api/v1/tenants",
            body: new { tenantKey = PlatformSiloFixture.NewTenantKey("iso"), name = "x", isolationLevel = "database" });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Patch, $"/api/v1/tenants/{tenant}", body: new { name = "bad\u0001name" });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, $"/api/v1/tenants/{tenant}/audit?result=maybe", adminKey);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, $"/api/v1/tenants/{tenant}/audit?cursor=garbage", adminKey);

        var users = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, usersPath, adminKey);
        Assert.Equal(["admin"], users.EnumerateArray().Select(u => u.GetProperty("userId").GetString()));
        var tenantView = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", adminKey);
        Assert.Equal("Tenant input", tenantView.GetProperty("name").GetString());
        foreach (var key in badTenantKeys.Where(k => k != "platform"))
        {
            await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{Uri.EscapeDataString(key)}");
        }
    }

    [Fact]
    public async Task Revoked_expired_and_disabled_users_keys_get_401_and_a_suspended_tenant_403()
    {
        var (tenant, adminKey) = await platform.CreateTenantWithAdminAsync("keys");
        var revokedKey = await platform.AddUserWithKeyAsync(tenant, "rita", ["viewer"]);
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/v1/me", revokedKey);
        var ritaKeys = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/users/rita/api-keys", adminKey);
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Delete, $"/api/v1/tenants/{tenant}/api-keys/{ritaKeys[0].GetProperty("id").GetString()}", adminKey);
        var revoked = await platform.ExpectAsync(HttpStatusCode.Unauthorized, HttpMethod.Get, "/api/v1/me", revokedKey);
        Assert.Contains("revoked", revoked.GetProperty("detail").GetString());

        var expiring = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/users/admin/api-keys", adminKey,
            new { name = "short", expiresAt = DateTimeOffset.UtcNow.AddSeconds(2) });
        var expiringKey = expiring.GetProperty("secret").GetString();
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/v1/me", expiringKey);
        await WaitUntilAsync(() => DateTimeOffset.UtcNow > expiring.GetProperty("key").GetProperty("expiresAt").GetDateTimeOffset());
        var expired = await platform.ExpectAsync(HttpStatusCode.Unauthorized, HttpMethod.Get, "/api/v1/me", expiringKey);
        Assert.Contains("expired", expired.GetProperty("detail").GetString());

        var disabledKey = await platform.AddUserWithKeyAsync(tenant, "dan", ["ml-engineer"]);
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Patch, $"/api/v1/tenants/{tenant}/users/dan", adminKey, new { status = "disabled" });
        await platform.ExpectAsync(HttpStatusCode.Unauthorized, HttpMethod.Get, "/api/v1/me", disabledKey);

        await platform.ExpectAsync(HttpStatusCode.Unauthorized, HttpMethod.Get, "/api/v1/me", "phm_000000000000_" + new string('A', 43));
        await platform.ExpectAsync(HttpStatusCode.Unauthorized, HttpMethod.Get, "/api/v1/me", "not a key");
        await platform.ExpectAsync(HttpStatusCode.Unauthorized, HttpMethod.Get, $"/api/v1/tenants/{tenant}", apiKey: "");

        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/suspend", body: new { reason = "unpaid" });
        var suspended = await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Get, $"/api/v1/tenants/{tenant}", adminKey);
        Assert.Equal("https://phantom-ml.dev/problems/tenant-suspended", suspended.GetProperty("type").GetString());
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/reactivate");
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", adminKey);

        var audit = await platform.AuditAsync(tenant);
        Assert.Contains(audit, r => r.GetProperty("action").GetString() == "authenticate" && r.GetProperty("details").GetString()!.Contains("revoked"));
        Assert.Contains(audit, r => r.GetProperty("action").GetString() == "authenticate" && r.GetProperty("details").GetString()!.Contains("expired"));
        Assert.Contains(audit, r => r.GetProperty("action").GetString() == "authenticate" && r.GetProperty("details").GetString()!.Contains("user-disabled"));
    }

    [Fact]
    public async Task Roles_decide_what_a_tenant_user_may_do()
    {
        var (tenant, adminKey) = await platform.CreateTenantWithAdminAsync("roles");
        var viewerKey = await platform.AddUserWithKeyAsync(tenant, "vic", ["viewer"]);
        var auditorKey = await platform.AddUserWithKeyAsync(tenant, "aud", ["auditor"]);
        var engineerKey = await platform.AddUserWithKeyAsync(tenant, "eng", ["ml-engineer"]);

        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", viewerKey);
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Get, $"/api/v1/tenants/{tenant}/users", viewerKey);
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Get, $"/api/v1/tenants/{tenant}/audit", viewerKey);
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/audit", auditorKey);
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, $"/api/v1/tenants/{tenant}/users", auditorKey,
            new { userId = "x", email = "x@a.test", roles = new[] { "viewer" } });
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/users", engineerKey);
        // Users manage their own keys; other users' keys need api-keys:manage.
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/users/eng/api-keys", engineerKey, new { name = "own" });
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, $"/api/v1/tenants/{tenant}/users/vic/api-keys", engineerKey, new { name = "theirs" });
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/users/vic/api-keys", adminKey, new { name = "for vic" });
        // Operator endpoints are for platform admins only.
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Get, "/api/v1/cluster/silos", adminKey);
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Get, "/api/v1/tenants", adminKey);
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/v1/cluster/silos");

        // Even the platform admin gets 404, not a server error, for a tenant that does not exist.
        var nowhere = PlatformSiloFixture.NewTenantKey("nowhere");
        foreach (var path in new[] { "", "/users", "/users/x", "/users/x/api-keys", "/quotas", "/audit" })
        {
            await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{nowhere}{path}");
        }

        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Patch, $"/api/v1/tenants/{nowhere}", body: new { name = "x" });
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Delete, $"/api/v1/tenants/{nowhere}/api-keys/{Guid.NewGuid()}");
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(100);
        }
    }
}
