using System.Net;
using System.Text.Json;
using PhantomMl.Client;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Compliance;
using PhantomMl.Grains.Lineage;
using PhantomMl.Grains.Tenants;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Tenants;

/// <summary>Tenant A's credentials never reach tenant B's data, through HTTP or the SDK.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class TenantIsolationTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    [Fact]
    public async Task Tenant_As_key_gets_404_for_every_endpoint_of_tenant_B_and_changes_nothing()
    {
        var (a, aKey) = await platform.CreateTenantWithAdminAsync("iso-a");
        var (b, _) = await platform.CreateTenantWithAdminAsync("iso-b");
        await platform.AddUserWithKeyAsync(b, "bob", ["ml-engineer"]);
        var bKeys = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{b}/users/bob/api-keys");
        var bKeyId = bKeys[0].GetProperty("id").GetString();
        var before = await SnapshotAsync(b);

        (HttpMethod Method, string Path, object? Body)[] attempts =
        [
            (HttpMethod.Get, $"/api/v1/tenants/{b}", null),
            (HttpMethod.Patch, $"/api/v1/tenants/{b}", new { name = "hijacked" }),
            (HttpMethod.Post, $"/api/v1/tenants/{b}/suspend", new { reason = "x" }),
            (HttpMethod.Post, $"/api/v1/tenants/{b}/reactivate", null),
            (HttpMethod.Get, $"/api/v1/tenants/{b}/users", null),
            (HttpMethod.Post, $"/api/v1/tenants/{b}/users", new { userId = "mole", email = "mole@a.test", roles = new[] { "tenant-admin" } }),
            (HttpMethod.Get, $"/api/v1/tenants/{b}/users/bob", null),
            (HttpMethod.Patch, $"/api/v1/tenants/{b}/users/bob", new { status = "disabled" }),
            (HttpMethod.Get, $"/api/v1/tenants/{b}/users/bob/api-keys", null),
            (HttpMethod.Post, $"/api/v1/tenants/{b}/users/bob/api-keys", new { name = "stolen" }),
            (HttpMethod.Delete, $"/api/v1/tenants/{b}/api-keys/{bKeyId}", null),
            // B's key id through A's own tenant path: not A's key, so not found either.
            (HttpMethod.Delete, $"/api/v1/tenants/{a}/api-keys/{bKeyId}", null),
            (HttpMethod.Get, $"/api/v1/tenants/{b}/quotas", null),
            (HttpMethod.Get, $"/api/v1/tenants/{b}/audit", null),
            (HttpMethod.Get, $"/api/v1/tenants/{b}/audit/search/status", null),
            (HttpMethod.Get, $"/api/v1/tenants/{b}/lineage?resourceType=model&resourceId=churn", null),
            (HttpMethod.Post, $"/api/v1/tenants/{b}/compliance/reports",
                new { framework = "SOC2", periodStart = DateTimeOffset.UtcNow.AddDays(-1), periodEnd = DateTimeOffset.UtcNow }),
            (HttpMethod.Get, $"/api/v1/tenants/{b}/compliance/reports", null),
            (HttpMethod.Post, $"/api/v1/tenants/{b}/compliance/privacy/access", new { userId = "bob" }),
            (HttpMethod.Post, $"/api/v1/tenants/{b}/compliance/privacy/erasure", new { userId = "bob" }),
            (HttpMethod.Get, $"/api/v1/tenants/{b}/compliance/privacy/requests", null),
            (HttpMethod.Get, $"/api/v1/tenants/{b}/analytics/service", null),
            (HttpMethod.Get, $"/api/v1/tenants/{b}/analytics/usage", null),
        ];
        foreach (var (method, path, body) in attempts)
        {
            var problem = await platform.ExpectAsync(HttpStatusCode.NotFound, method, path, aKey, body);
            Assert.Equal("https://phantom-ml.dev/problems/not-found", problem.GetProperty("type").GetString());
        }

        // An id that exists in B looks exactly like one that exists nowhere.
        var missing = await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{PlatformSiloFixture.NewTenantKey("nowhere")}", aKey);
        var foreign = await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{b}", aKey);
        Assert.Equal(missing.GetProperty("title").GetString(), foreign.GetProperty("title").GetString());

        Assert.Equal(before, await SnapshotAsync(b));
        // The attempts are audited where A's auditors see them, not in B.
        var aDenied = (await platform.AuditAsync(a)).Count(row => row.GetProperty("result").GetString() == "denied");
        Assert.True(aDenied >= attempts.Length, $"{aDenied} denied rows in A for {attempts.Length} attempts");
    }

    [Fact]
    public async Task Tenant_As_key_through_the_SDK_gets_not_found_for_tenant_B()
    {
        var (_, aKey) = await platform.CreateTenantWithAdminAsync("sdk-a");
        var (b, _) = await platform.CreateTenantWithAdminAsync("sdk-b");
        var before = await SnapshotAsync(b);
        await using var client = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            MembershipConnectionString = platform.Databases.Membership,
            ClusterId = platform.ClusterId,
            ApiKey = aKey,
        }, TestContext.Current.CancellationToken);
        var token = TestContext.Current.CancellationToken;

        Func<Task>[] attempts =
        [
            () => client.GetTenantAsync(b, token),
            () => client.UpdateTenantAsync(b, new UpdateTenant(Name: "hijacked"), token),
            () => client.SuspendTenantAsync(b, "x", token),
            () => client.ListUsersAsync(b, token),
            () => client.AddUserAsync(b, new AddTenantUser("mole", "mole@a.test", ["tenant-admin"]), token),
            () => client.GetUserAsync(b, "admin", token),
            () => client.UpdateUserAsync(b, "admin", new UpdateTenantUser(Status: "disabled"), token),
            () => client.CreateApiKeyAsync(b, "admin", new CreateApiKey("stolen"), token),
            () => client.ListApiKeysAsync(b, "admin", token),
            () => client.GetQuotaUsageAsync(b, token),
            () => client.QueryAuditAsync(b, new AuditQuery(), token),
            () => client.SearchAuditAsync(b, new AuditSearchQuery("admin"), token),
            () => client.VerifyAuditChainAsync(b, token),
            () => client.ListAuditDigestsAsync(b, cancellationToken: token),
            () => client.CreateAuditDigestAsync(b, token),
            () => client.GetAuditSearchStatusAsync(b, token),
            () => client.TraceLineageAsync(b, new LineageQuery("model", "churn"), token),
            () => client.GenerateComplianceReportAsync(b, new GenerateReport("SOC2", DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow), token),
            () => client.ListComplianceReportsAsync(b, cancellationToken: token),
            () => client.ExportComplianceReportAsync(b, Guid.NewGuid(), "html", token),
            () => client.ExportSubjectDataAsync(b, "admin", token),
            () => client.EraseSubjectAsync(b, "admin", token),
            () => client.ListPrivacyRequestsAsync(b, cancellationToken: token),
        ];
        foreach (var attempt in attempts)
        {
            var error = await Assert.ThrowsAsync<PhantomException>(attempt);
            Assert.Equal(404, error.Status);
        }

        var forbidden = await Assert.ThrowsAsync<PhantomException>(() => client.ListTenantsAsync(cancellationToken: token));
        Assert.Equal(403, forbidden.Status);
        Assert.Equal(before, await SnapshotAsync(b));
    }

    [Fact]
    public async Task The_SDK_without_a_key_is_unauthenticated()
    {
        var (b, _) = await platform.CreateTenantWithAdminAsync("sdk-anon");
        await using var client = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            MembershipConnectionString = platform.Databases.Membership,
            ClusterId = platform.ClusterId,
        }, TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<PhantomException>(() => client.GetTenantAsync(b, TestContext.Current.CancellationToken));
        Assert.Equal(401, error.Status);
    }

    /// <summary>Everything B has, as B's platform admin sees it.</summary>
    private async Task<string> SnapshotAsync(string tenantKey)
    {
        var parts = new List<string>();
        foreach (var path in new[] { "", "/users", "/quotas" })
        {
            parts.Add((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenantKey}{path}")).GetRawText());
        }

        foreach (var user in (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenantKey}/users")).EnumerateArray())
        {
            var keys = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get,
                $"/api/v1/tenants/{tenantKey}/users/{user.GetProperty("userId").GetString()}/api-keys");
            parts.Add(JsonSerializer.Serialize(keys.EnumerateArray().Select(k => (k.GetProperty("id").GetString(), k.GetProperty("revokedAt").ToString()))));
        }

        parts.Add((await platform.AuditAsync(tenantKey)).Count.ToString());
        return string.Join('\n', parts);
    }
}
