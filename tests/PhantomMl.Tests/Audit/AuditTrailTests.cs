using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PhantomMl.Grains.Audit;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Audit;

/// <summary>
/// The audit trail on a real silo: what every column says, the hash chain against tampering by the database owner,
/// signed digests checked offline, full-text search, and who may read what.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class AuditTrailTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    [Fact]
    public async Task Rows_carry_risk_compliance_tags_and_the_frameworks_retention()
    {
        var tenantKey = PlatformApi.NewTenantKey("hipaa");
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, "/api/v1/tenants",
            body: new { tenantKey, name = "Clinic", complianceFrameworks = new[] { "HIPAA", "GDPR" } });
        var adminKey = await platform.AddUserWithKeyAsync(tenantKey, "admin", ["tenant-admin"]);
        var viewerKey = await platform.AddUserWithKeyAsync(tenantKey, "viewer", ["viewer"]);
        // A viewer trying to add a user: refused, audited as an authorization decision.
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, $"/api/v1/tenants/{tenantKey}/users", viewerKey,
            new { userId = "mallory", email = "m@x.test", roles = new[] { "tenant-admin" } });
        // A tenant cannot keep its trail for less than HIPAA's six years.
        var refused = await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Patch, $"/api/v1/tenants/{tenantKey}",
            body: new { resourceQuotas = new { audit_retention_days = 30 } });
        Assert.Contains("HIPAA", refused.GetProperty("detail").GetString());

        var rows = await platform.AuditAsync(tenantKey);
        var addUser = rows.First(r => r.GetProperty("action").GetString() == "add-user" && r.GetProperty("resourceId").GetString() == "admin");
        var createKey = rows.First(r => r.GetProperty("action").GetString() == "create-api-key");
        var denied = rows.First(r => r.GetProperty("result").GetString() == "denied");

        Assert.Equal("authorization", denied.GetProperty("eventType").GetString());
        Assert.True(denied.GetProperty("riskScore").GetDecimal() >= 0.50m, denied.ToString());
        Assert.Contains("security", Tags(denied));
        Assert.True(addUser.GetProperty("riskScore").GetDecimal() >= 0.30m, addUser.ToString());
        Assert.Contains("privileged", Tags(addUser));
        Assert.True(createKey.GetProperty("riskScore").GetDecimal() >= 0.25m, createKey.ToString());
        foreach (var row in new[] { addUser, createKey, denied })
        {
            Assert.Contains("HIPAA", Tags(row));
            Assert.Contains("GDPR", Tags(row));
            var at = row.GetProperty("timestamp").GetDateTimeOffset();
            Assert.Equal(at.AddYears(6), row.GetProperty("retentionUntil").GetDateTimeOffset());
        }

        // A tenant without frameworks may choose a short retention.
        var (plain, _) = await platform.CreateTenantWithAdminAsync("plain", new { audit_retention_days = 30 });
        var plainRow = (await platform.AuditAsync(plain)).First(r => r.GetProperty("action").GetString() == "add-user");
        Assert.Equal(plainRow.GetProperty("timestamp").GetDateTimeOffset().AddDays(30), plainRow.GetProperty("retentionUntil").GetDateTimeOffset());
        Assert.DoesNotContain("HIPAA", Tags(plainRow));
    }

    [Fact]
    public async Task Verification_finds_a_row_altered_deleted_or_inserted_by_the_database_owner()
    {
        var altered = await TenantWithActivityAsync("alter");
        var deleted = await TenantWithActivityAsync("delete");
        var inserted = await TenantWithActivityAsync("insert");
        foreach (var tenant in new[] { altered, deleted, inserted })
        {
            var clean = await VerifyAsync(tenant.Key);
            Assert.True(clean.GetProperty("valid").GetBoolean(), clean.ToString());
            Assert.True(clean.GetProperty("entriesChecked").GetInt64() >= 4);
        }

        var victim = await TenantSql.ScalarAsync<Guid>(platform.Databases.OwnerSource, altered.Id,
            "SELECT audit_id FROM audit_chain ORDER BY seq OFFSET 2 LIMIT 1");
        await TenantSql.ExecuteAsync(platform.Databases.OwnerSource, altered.Id,
            $"UPDATE audit_logs SET action = 'nothing-to-see' WHERE id = '{victim}'");
        var broken = (await VerifyAsync(altered.Key)).GetProperty("break");
        Assert.Equal("altered", broken.GetProperty("kind").GetString());
        Assert.Equal(3, broken.GetProperty("seq").GetInt64());
        Assert.Equal(victim, broken.GetProperty("auditId").GetGuid());

        var gone = await TenantSql.ScalarAsync<Guid>(platform.Databases.OwnerSource, deleted.Id,
            "SELECT audit_id FROM audit_chain ORDER BY seq OFFSET 1 LIMIT 1");
        await TenantSql.ExecuteAsync(platform.Databases.OwnerSource, deleted.Id, $"DELETE FROM audit_logs WHERE id = '{gone}'");
        broken = (await VerifyAsync(deleted.Key)).GetProperty("break");
        Assert.Equal("missing", broken.GetProperty("kind").GetString());
        Assert.Equal(gone, broken.GetProperty("auditId").GetGuid());

        // A row slipped in by the owner, its queue entry removed so the platform never seals it.
        var forged = Guid.NewGuid();
        await TenantSql.ExecuteAsync(platform.Databases.OwnerSource, inserted.Id, $"""
            INSERT INTO audit_logs (id, tenant_id, event_id, user_id, event_type, resource_type, resource_id, action, result)
            VALUES ('{forged}', '{inserted.Id}', 'forged', 'admin', 'user_management', 'tenant-user', 'ghost', 'add-user', 'success');
            DELETE FROM audit_chain_pending WHERE audit_id = '{forged}';
            """);
        broken = (await VerifyAsync(inserted.Key)).GetProperty("break");
        Assert.Equal("unchained", broken.GetProperty("kind").GetString());
        Assert.Equal(forged, broken.GetProperty("auditId").GetGuid());
    }

    [Fact]
    public async Task A_signed_digest_checks_offline_with_openssl_and_catches_a_rewritten_chain()
    {
        var tenant = await TenantWithActivityAsync("digest");
        var auditorKey = await platform.AddUserWithKeyAsync(tenant.Key, "auditor", ["auditor"]);
        // The auditor reads everything and changes nothing: signing is audit:manage.
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, $"/api/v1/tenants/{tenant.Key}/audit/digests", auditorKey);
        // 201 with the new digest; 204 when the audit sweep signed everything a moment before (then its digest is the latest).
        using (var signed = await platform.SendAsync(HttpMethod.Post, $"/api/v1/tenants/{tenant.Key}/audit/digests", tenant.AdminKey))
        {
            Assert.True(signed.StatusCode is HttpStatusCode.Created or HttpStatusCode.NoContent, signed.StatusCode.ToString());
        }

        var digestId = (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant.Key}/audit/digests?limit=1", auditorKey))[0]
            .GetProperty("id").GetGuid();
        var bundle = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get,
            $"/api/v1/tenants/{tenant.Key}/audit/digests/{digestId}/bundle", auditorKey);

        // Offline, as docs/audit.md describes: the signature with openssl, then every record hash and link.
        var document = bundle.GetProperty("digest").GetProperty("document").GetString()!;
        var directory = Directory.CreateTempSubdirectory("phantom-digest-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory.FullName, "digest.json"), document, TestContext.Current.CancellationToken);
            await File.WriteAllBytesAsync(Path.Combine(directory.FullName, "digest.sig"),
                Convert.FromBase64String(bundle.GetProperty("digest").GetProperty("signature").GetString()!), TestContext.Current.CancellationToken);
            await File.WriteAllTextAsync(Path.Combine(directory.FullName, "public.pem"), bundle.GetProperty("publicKeyPem").GetString(),
                TestContext.Current.CancellationToken);
            Assert.Equal("Verified OK", await OpensslAsync(directory.FullName, "dgst -sha256 -verify public.pem -signature digest.sig digest.json"));
            await File.AppendAllTextAsync(Path.Combine(directory.FullName, "digest.json"), " ", TestContext.Current.CancellationToken);
            Assert.Equal("Verification failure", await OpensslAsync(directory.FullName,
                "dgst -sha256 -verify public.pem -signature digest.sig digest.json"));
        }
        finally
        {
            directory.Delete(recursive: true);
        }

        var previous = Convert.FromHexString(bundle.GetProperty("previousChainHash").GetString()!);
        foreach (var entry in bundle.GetProperty("entries").EnumerateArray())
        {
            var record = SHA256.HashData(Encoding.UTF8.GetBytes(entry.GetProperty("canonical").GetString()!));
            Assert.Equal(entry.GetProperty("recordHash").GetString(), Convert.ToHexStringLower(record));
            previous = AuditChainFormat.Link(previous, record, entry.GetProperty("retentionUntil").GetDateTimeOffset());
            Assert.Equal(entry.GetProperty("chainHash").GetString(), Convert.ToHexStringLower(previous));
        }

        Assert.Equal(JsonDocument.Parse(document).RootElement.GetProperty("headHash").GetString(), Convert.ToHexStringLower(previous));

        // The owner alters a row and rewrites every hash after it consistently: only the signed digest can tell.
        var first = await TenantSql.ScalarAsync<Guid>(platform.Databases.OwnerSource, tenant.Id, "SELECT audit_id FROM audit_chain WHERE seq = 1");
        await TenantSql.ExecuteAsync(platform.Databases.OwnerSource, tenant.Id, $"UPDATE audit_logs SET user_id = 'someone-else' WHERE id = '{first}'");
        await RewriteChainAsync(tenant.Id);
        var broken = (await VerifyAsync(tenant.Key, auditorKey)).GetProperty("break");
        Assert.Equal("digest", broken.GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Search_finds_words_phrases_and_prefixes_filters_sorts_pages_and_stays_in_its_tenant()
    {
        var (tenantKey, adminKey) = await platform.CreateTenantWithAdminAsync("search");
        await platform.AddUserWithKeyAsync(tenantKey, "zebra-analyst", ["viewer"]);
        await platform.AddUserWithKeyAsync(tenantKey, "okapi-engineer", ["ml-engineer"]);
        var auditorKey = await platform.AddUserWithKeyAsync(tenantKey, "auditor", ["auditor"]);
        var (other, otherKey) = await platform.CreateTenantWithAdminAsync("search-other");
        await platform.AddUserWithKeyAsync(other, "zebra-analyst", ["viewer"]);

        var words = await SearchAsync(tenantKey, auditorKey, "q=zebra");
        Assert.NotEmpty(words);
        Assert.All(words, hit => Assert.Contains("zebra", hit.ToString(), StringComparison.OrdinalIgnoreCase));
        Assert.All(words, hit => Assert.DoesNotContain(other, hit.ToString(), StringComparison.Ordinal));
        var phrase = await SearchAsync(tenantKey, auditorKey, $"q={Uri.EscapeDataString("\"add-user tenant-user okapi-engineer\"")}");
        Assert.Single(phrase);
        Assert.Equal("okapi-engineer", phrase[0].GetProperty("resourceId").GetString());
        var prefix = await SearchAsync(tenantKey, auditorKey, "q=oka*&action=create-api-key");
        Assert.Equal("okapi-engineer", Assert.Single(prefix).GetProperty("resourceId").GetString());
        Assert.Empty(await SearchAsync(tenantKey, auditorKey, "q=zebra&result=denied"));

        var byRisk = await SearchAsync(tenantKey, auditorKey, "sort=risk");
        Assert.Equal(byRisk.Select(h => h.GetProperty("riskScore").GetDecimal()).OrderDescending(), byRisk.Select(h => h.GetProperty("riskScore").GetDecimal()));
        var paged = new List<string>();
        string? cursor = null;
        do
        {
            var page = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get,
                $"/api/v1/tenants/{tenantKey}/audit/search?sort=oldest&limit=2" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"),
                auditorKey);
            paged.AddRange(page.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("id").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        Assert.Equal((await SearchAsync(tenantKey, auditorKey, "sort=oldest")).Select(e => e.GetProperty("id").GetString()!), paged);

        // Another tenant's key sees nothing of this tenant, through search too; bad input is a 400.
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{tenantKey}/audit/search?q=zebra", otherKey);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, $"/api/v1/tenants/{tenantKey}/audit/search?sort=sideways", adminKey);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, $"/api/v1/tenants/{tenantKey}/audit/search?cursor=bogus", adminKey);
    }

    [Fact]
    public async Task An_auditor_through_the_SDK_searches_verifies_and_reads_digests_but_signs_nothing()
    {
        var tenant = await TenantWithActivityAsync("sdk-audit");
        var auditorKey = await platform.AddUserWithKeyAsync(tenant.Key, "auditor", ["auditor"]);
        await using var client = await PhantomMl.Client.PhantomClient.ConnectAsync(new PhantomMl.Client.PhantomClientOptions
        {
            MembershipConnectionString = platform.Databases.Membership,
            ClusterId = platform.ClusterId,
            ApiKey = auditorKey,
        }, TestContext.Current.CancellationToken);
        var token = TestContext.Current.CancellationToken;

        var hits = await client.SearchAuditAsync(tenant.Key, new AuditSearchQuery("analyst", Action: "add-user"), token);
        Assert.Equal("analyst", Assert.Single(hits.Entries).ResourceId);
        var verification = await client.VerifyAuditChainAsync(tenant.Key, token);
        Assert.True(verification.Valid, verification.ToString());
        var refused = await Assert.ThrowsAsync<PhantomMl.Grains.PhantomException>(() => client.CreateAuditDigestAsync(tenant.Key, token));
        Assert.Equal(403, refused.Status);
        // Whatever the sweep signed so far is readable, newest first.
        var digests = await client.ListAuditDigestsAsync(tenant.Key, cancellationToken: token);
        Assert.Equal(digests.OrderByDescending(d => d.LastSeq), digests);
    }

    private static IEnumerable<string> Tags(JsonElement row) => row.GetProperty("complianceTags").EnumerateArray().Select(t => t.GetString()!);

    private async Task<List<JsonElement>> SearchAsync(string tenantKey, string key, string query) =>
        (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenantKey}/audit/search?limit=500&{query}", key))
        .GetProperty("entries").EnumerateArray().ToList();

    private Task<JsonElement> VerifyAsync(string tenantKey, string? key = null) =>
        platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenantKey}/audit/verify", key);

    private async Task<(string Key, Guid Id, string AdminKey)> TenantWithActivityAsync(string label)
    {
        var (tenantKey, adminKey) = await platform.CreateTenantWithAdminAsync(label);
        await platform.AddUserWithKeyAsync(tenantKey, "analyst", ["viewer"]);
        var id = (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenantKey}")).GetProperty("id").GetGuid();
        return (tenantKey, id, adminKey);
    }

    // What an owner covering their tracks would do: recompute every record hash and link from the rows as they are now.
    private async Task RewriteChainAsync(Guid tenantId)
    {
        var previous = AuditChainFormat.Genesis(tenantId);
        var rows = await TenantSql.ListAsync(platform.Databases.OwnerSource, tenantId, "SELECT seq::text FROM audit_chain ORDER BY seq");
        var database = new PhantomMl.Grains.Adapters.PostgreSql.TenantDatabase(platform.Databases.OwnerSource);
        var chain = new AuditChainSql(database);
        foreach (var entry in await chain.ReadAsync(tenantId, 0, null, rows.Count))
        {
            var actorHash = AuditChainFormat.PartHash(entry.ActorSalt!, AuditChainFormat.PersonalParts(entry.Row!).Actor);
            var record = AuditChainFormat.RecordHash((entry with { ActorHash = actorHash }).Canonical(tenantId)!);
            previous = AuditChainFormat.Link(previous, record, entry.RetentionUntil);
            await TenantSql.ExecuteAsync(platform.Databases.OwnerSource, tenantId,
                $"UPDATE audit_chain SET actor_hash = '\\x{Convert.ToHexString(actorHash)}', record_hash = '\\x{Convert.ToHexString(record)}', " +
                $"chain_hash = '\\x{Convert.ToHexString(previous)}' WHERE seq = {entry.Seq}");
        }

        await TenantSql.ExecuteAsync(platform.Databases.OwnerSource, tenantId,
            $"UPDATE audit_chain_heads SET chain_hash = '\\x{Convert.ToHexString(previous)}'");
    }

    private static async Task<string> OpensslAsync(string directory, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo("openssl", arguments)
        {
            WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output.Trim();
    }
}
