using System.IO.Compression;
using System.Net;
using System.Text.Json;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Audit;

/// <summary>
/// Compliance reports whose findings come from real rows, their exports, and GDPR access and erasure with the audit
/// chain still verifying afterwards, on a real silo.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class ComplianceTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    [Fact]
    public async Task A_HIPAA_report_finds_what_the_records_show_and_exports_as_JSON_CSV_and_HTML()
    {
        var (tenantKey, tenantId, adminKey) = await CreateTenantAsync("report", "HIPAA", "GDPR");
        await platform.AddUserWithKeyAsync(tenantKey, "engineer", ["ml-engineer"]);
        var viewerKey = await platform.AddUserWithKeyAsync(tenantKey, "viewer", ["viewer"]);
        var auditorKey = await platform.AddUserWithKeyAsync(tenantKey, "auditor", ["auditor"]);
        // The engineer's key was issued 200 days ago and never used.
        await TenantSql.ExecuteAsync(platform.Databases.OwnerSource, tenantId, """
            UPDATE api_keys SET created_at = now() - interval '200 days'
             WHERE tenant_user_id = (SELECT id FROM tenant_users WHERE user_id = 'engineer')
            """);
        // 25 refused attempts within a few seconds: a spike in one hour.
        for (var i = 0; i < 25; i++)
        {
            await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, $"/api/v1/tenants/{tenantKey}/users", viewerKey,
                new { userId = $"intruder{i}", email = "i@x.test", roles = new[] { "tenant-admin" } });
        }

        var reports = $"/api/v1/tenants/{tenantKey}/compliance/reports";
        var period = new { periodStart = DateTimeOffset.UtcNow.AddDays(-7), periodEnd = DateTimeOffset.UtcNow.AddMinutes(1) };
        var report = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, reports, adminKey,
            new { framework = "hipaa", period.periodStart, period.periodEnd });
        Assert.Equal(("HIPAA", "non_compliant"), (report.GetProperty("framework").GetString(), report.GetProperty("status").GetString()));
        var findings = Findings(report);
        Assert.Equal(["framework-declared", "admin-mfa", "api-key-rotation", "unused-api-keys", "denied-access", "audit-chain", "audit-retention"],
            findings.Keys);
        AssertStatus("pass", findings, "framework-declared");
        AssertStatus("fail", findings, "admin-mfa");
        Assert.Contains("\"admin\"", findings["admin-mfa"].GetProperty("evidence").GetString());
        AssertStatus("fail", findings, "api-key-rotation");
        AssertStatus("fail", findings, "unused-api-keys");
        using (var keys = JsonDocument.Parse(findings["unused-api-keys"].GetProperty("evidence").GetString()!))
        {
            Assert.Equal(["engineer"], keys.RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("userId").GetString()));
        }

        AssertStatus("fail", findings, "denied-access");
        using (var denied = JsonDocument.Parse(findings["denied-access"].GetProperty("evidence").GetString()!))
        {
            Assert.True(denied.RootElement.GetProperty("totalDenied").GetInt64() >= 25);
            Assert.Single(denied.RootElement.GetProperty("spikes").EnumerateArray());
        }

        AssertStatus("pass", findings, "audit-chain");
        AssertStatus("pass", findings, "audit-retention");
        var remediation = report.GetProperty("remediationActions").EnumerateArray().Select(a => a.GetProperty("check").GetString()).ToList();
        Assert.Equal(["admin-mfa", "api-key-rotation", "denied-access", "unused-api-keys"], remediation.Order());

        // The auditor reads and exports; only audit:manage generates. Another tenant sees nothing.
        var id = report.GetProperty("id").GetString();
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, reports, auditorKey,
            new { framework = "SOC2", period.periodStart, period.periodEnd });
        Assert.Single((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, reports, auditorKey)).EnumerateArray());
        using (var csv = await platform.SendAsync(HttpMethod.Get, $"{reports}/{id}/export?format=csv", auditorKey))
        {
            Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
            Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
            var lines = (await csv.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("check,title,severity,status,summary,remediation,evidence", lines[0]);
            Assert.Equal(8, lines.Length);
            Assert.StartsWith("admin-mfa,", lines[2]);
        }

        using (var html = await platform.SendAsync(HttpMethod.Get, $"{reports}/{id}/export?format=html", auditorKey))
        {
            var page = await html.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.Equal("text/html", html.Content.Headers.ContentType?.MediaType);
            Assert.Contains("default-src 'none'", html.Headers.GetValues("Content-Security-Policy").Single());
            Assert.Contains("<h1>HIPAA compliance report</h1>", page);
            Assert.Contains("4 of 7 checks failed", page);
            Assert.Contains("<td class=\"fail\">fail</td>", page);
        }

        var json = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{reports}/{id}/export?format=json", auditorKey);
        Assert.Equal(id, json.GetProperty("id").GetString());
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, $"{reports}/{id}/export?format=xml", auditorKey);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, reports, adminKey, new { framework = "PCI", period.periodStart, period.periodEnd });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, reports, adminKey,
            new { framework = "SOC2", periodStart = period.periodEnd, periodEnd = period.periodStart });
        var (_, otherKey) = await platform.CreateTenantWithAdminAsync("report-other");
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{reports}/{id}", otherKey);

        // The owner shortens one row's retention: the report finds both the short retention and the broken chain.
        await TenantSql.ExecuteAsync(platform.Databases.OwnerSource, tenantId, """
            UPDATE audit_logs SET retention_until = "timestamp" + interval '30 days'
             WHERE id = (SELECT id FROM audit_logs WHERE action = 'add-user' ORDER BY "timestamp" LIMIT 1)
            """);
        var tampered = Findings(await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, reports, adminKey,
            new { framework = "HIPAA", period.periodStart, period.periodEnd }));
        AssertStatus("fail", tampered, "audit-retention");
        AssertStatus("fail", tampered, "audit-chain");
        Assert.Contains("altered", tampered["audit-chain"].GetProperty("summary").GetString());

        // GDPR: residency cannot be checked without configured storage regions (unknown, never a guess); an overdue
        // privacy request fails its check.
        await TenantSql.ExecuteAsync(platform.Databases.OwnerSource, tenantId, """
            INSERT INTO privacy_requests (tenant_id, kind, subject_ref, requested_by, requested_at)
            VALUES (phantom_current_tenant(), 'access', 'someone', 'admin', now() - interval '40 days')
            """);
        var gdpr = Findings(await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, reports, adminKey,
            new { framework = "GDPR", periodStart = DateTimeOffset.UtcNow.AddDays(-60), period.periodEnd }));
        AssertStatus("unknown", gdpr, "data-residency");
        AssertStatus("fail", gdpr, "privacy-requests");
        Assert.Contains("1 overdue", gdpr["privacy-requests"].GetProperty("summary").GetString());
    }

    [Fact]
    public async Task Access_exports_everything_about_a_user_and_erasure_removes_it_while_the_chain_still_verifies()
    {
        var (tenantKey, tenantId, adminKey) = await CreateTenantAsync("gdpr", "GDPR");
        var aliceKey = await platform.AddUserWithKeyAsync(tenantKey, "alice", ["ml-engineer"]);
        var auditorKey = await platform.AddUserWithKeyAsync(tenantKey, "auditor", ["auditor"]);
        var api = $"/api/v1/tenants/{tenantKey}";
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{api}/models", aliceKey,
            new { name = "alice-model", modelType = "classifier", algorithm = "fasttree" });
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, $"{api}/users", aliceKey,
            new { userId = "bob", email = "bob@x.test", roles = new[] { "viewer" } });
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Patch, $"{api}/users/alice", adminKey, new { email = "alice.new@home.test" });
        Assert.True((await VerifyAsync(tenantKey, auditorKey)).GetProperty("valid").GetBoolean());

        // Right of access: one archive with the profile, both sides of the audit trail and what she created.
        using (var response = await platform.SendAsync(HttpMethod.Post, $"{api}/compliance/privacy/access", adminKey, new { userId = "alice" }))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/zip", response.Content.Headers.ContentType?.MediaType);
            using var zip = new ZipArchive(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
            string Read(string name)
            {
                using var reader = new StreamReader(zip.GetEntry(name)!.Open());
                return reader.ReadToEnd();
            }

            Assert.Contains("alice.new@home.test", Read("profile.json"));
            var byAlice = Read("audit-by-user.jsonl").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Contains(byAlice, r => r.GetProperty("action").GetString() == "create" && r.GetProperty("resourceId").GetString() == "alice-model");
            Assert.Contains(byAlice, r => r.GetProperty("result").GetString() == "denied");
            Assert.All(byAlice, r => Assert.Equal("alice", r.GetProperty("userId").GetString()));
            Assert.Contains("update-user", Read("audit-about-user.jsonl"));
            Assert.Contains("alice-model", Read("models.jsonl"));
            Assert.DoesNotContain("secret", Read("api_keys.jsonl"));
            using var manifest = JsonDocument.Parse(Read("manifest.json"));
            Assert.Equal("alice", manifest.RootElement.GetProperty("about").GetProperty("userId").GetString());
        }

        // Refusals: the auditor may not erase, nobody erases themselves, an unknown user is 404, another tenant sees nothing.
        var erasure = $"{api}/compliance/privacy/erasure";
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, erasure, auditorKey, new { userId = "alice" });
        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, erasure, adminKey, new { userId = "admin" });
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, erasure, adminKey, new { userId = "nobody" });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, erasure, adminKey, new { userId = "../alice" });
        var (_, otherKey) = await platform.CreateTenantWithAdminAsync("gdpr-other");
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, erasure, otherKey, new { userId = "alice" });

        var erased = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, erasure, adminKey, new { userId = "alice" });
        var pseudonym = $"erased:{erased.GetProperty("id").GetString()}";
        Assert.Equal(("completed", pseudonym), (erased.GetProperty("status").GetString(), erased.GetProperty("subject").GetString()));

        // Her key is refused on the very next call; her model says the pseudonym made it.
        await platform.ExpectAsync(HttpStatusCode.Unauthorized, HttpMethod.Get, $"{api}/models", aliceKey);
        Assert.Equal(pseudonym, (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{api}/models/alice-model", adminKey))
            .GetProperty("createdBy").GetString());

        // Nothing in the trail, the requests or the users names her any more, and the chain still verifies.
        var rows = await platform.AuditAsync(tenantKey);
        Assert.DoesNotContain(rows, r => r.GetRawText().Contains("\"alice\"", StringComparison.Ordinal) || r.GetRawText().Contains("alice.new@"));
        Assert.Contains(rows, r => r.GetProperty("userId").GetString() == pseudonym && r.GetProperty("ipAddress").ValueKind == JsonValueKind.Null);
        Assert.Contains(rows, r => r.GetProperty("resourceId").GetString() == pseudonym && r.GetProperty("action").GetString() == "update-user");
        var requests = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{api}/compliance/privacy/requests", auditorKey);
        Assert.DoesNotContain("alice", requests.GetRawText());
        Assert.Equal(2, requests.GetArrayLength());
        var users = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{api}/users", adminKey);
        Assert.DoesNotContain("alice", users.GetRawText());
        var verified = await VerifyAsync(tenantKey, auditorKey);
        Assert.True(verified.GetProperty("valid").GetBoolean(), verified.ToString());
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"{api}/compliance/privacy/access", adminKey, new { userId = "alice" });

        // An owner cannot pass off a change as an erasure: clearing a salt and blanking a row without a completed
        // erasure request is found.
        await TenantSql.ExecuteAsync(platform.Databases.OwnerSource, tenantId, """
            WITH target AS (SELECT "timestamp", id FROM audit_logs WHERE user_id = 'auditor' ORDER BY "timestamp" LIMIT 1)
            UPDATE audit_personal_salts s SET actor_salt = NULL FROM target t WHERE s.audit_timestamp = t."timestamp" AND s.audit_id = t.id
            """);
        await TenantSql.ExecuteAsync(platform.Databases.OwnerSource, tenantId, $"""
            UPDATE audit_logs SET user_id = 'erased:{Guid.NewGuid()}', ip_address = NULL, user_agent = NULL, session_id = NULL
             WHERE id = (SELECT id FROM audit_logs WHERE user_id = 'auditor' ORDER BY "timestamp" LIMIT 1)
            """);
        var faked = await VerifyAsync(tenantKey, adminKey);
        Assert.False(faked.GetProperty("valid").GetBoolean());
        Assert.Equal("altered", faked.GetProperty("break").GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Each_of_the_thirteen_event_types_is_written_where_it_happens()
    {
        var (tenantKey, _, adminKey) = await CreateTenantAsync("events", "SOC2");                         // tenant_management
        var viewerKey = await platform.AddUserWithKeyAsync(tenantKey, "viewer", ["viewer"]);             // user_management
        var api = $"/api/v1/tenants/{tenantKey}";
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, $"{api}/models", viewerKey,  // authorization
            new { name = "m", modelType = "classifier", algorithm = "fasttree" });
        var issued = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{api}/users/viewer/api-keys", adminKey, new { name = "gone" });
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Delete, $"{api}/api-keys/{issued.GetProperty("key").GetProperty("id").GetString()}", adminKey);
        await platform.ExpectAsync(HttpStatusCode.Unauthorized, HttpMethod.Get, $"{api}/models", issued.GetProperty("secret").GetString()); // authentication
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{api}/models", adminKey,     // model_lifecycle
            new { name = "data", modelType = "dataset", algorithm = "none" });
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{api}/models/data/versions", adminKey, new { version = "1" });
        var csv = new ByteArrayContent("x,y\n1,2\n"u8.ToArray());
        csv.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/csv");
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Put, $"{api}/models/data/versions/1/artifact", adminKey, csv); // data_modification
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{api}/training-jobs", adminKey,  // training
            new { jobName = "external", modelName = "data", datasetUri = "s3://datasets/train.csv" });
        await platform.ExpectAsync(HttpStatusCode.Accepted, HttpMethod.Post, $"{api}/batches", adminKey,      // inference
            new { model = "data", version = "1", datasetUri = "model://data/versions/1" });
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"{api}/agents/echo", adminKey, new { agentType = "noop" }); // configuration_change
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{api}/agents/echo/executions", adminKey, new { });    // agent_execution
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{api}/audit/verify", adminKey);   // compliance
        var digest = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{api}/audit/digests", adminKey);
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{api}/audit/digests/{digest.GetProperty("id").GetString()}/bundle", adminKey); // data_access
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, "/api/v1/maintenance/audit-sweep"); // system, in the platform's trail

        var tenantTypes = (await platform.AuditAsync(tenantKey)).Select(r => r.GetProperty("eventType").GetString()!).ToHashSet();
        var platformTypes = (await platform.AuditAsync("platform")).Select(r => r.GetProperty("eventType").GetString()!).ToHashSet();
        Assert.Equal(["agent_execution", "authentication", "authorization", "compliance", "configuration_change", "data_access", "data_modification",
            "inference", "model_lifecycle", "tenant_management", "training", "user_management"], tenantTypes.Order());
        Assert.Contains("system", platformTypes);
    }

    private async Task<(string TenantKey, Guid TenantId, string AdminKey)> CreateTenantAsync(string label, params string[] frameworks)
    {
        var tenantKey = PlatformApi.NewTenantKey(label);
        var tenant = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, "/api/v1/tenants",
            body: new { tenantKey, name = $"Tenant {label}", complianceFrameworks = frameworks, dataResidency = "eu" });
        return (tenantKey, tenant.GetProperty("id").GetGuid(), await platform.AddUserWithKeyAsync(tenantKey, "admin", ["tenant-admin"]));
    }

    private Task<JsonElement> VerifyAsync(string tenantKey, string key) =>
        platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenantKey}/audit/verify", key);

    private static void AssertStatus(string expected, Dictionary<string, JsonElement> findings, string check) =>
        Assert.True(findings[check].GetProperty("status").GetString() == expected, $"{check}: expected {expected}: {findings[check]}");

    private static Dictionary<string, JsonElement> Findings(JsonElement report) =>
        report.GetProperty("findings").EnumerateArray().ToDictionary(f => f.GetProperty("check").GetString()!, f => f);
}

/// <summary>The data-residency rule on its own: the silo under test has no storage regions configured.</summary>
public sealed class DataResidencyCheckTests
{
    [Theory]
    [InlineData("eu", "eu-central-1,eu-west-1", "pass", "")]
    [InlineData("eu-central-1", "eu-central-1,eu-central-1", "pass", "")]
    [InlineData("eu", "eu-central-1,us-east-1", "fail", "clickhouse")]
    [InlineData("eu-central-1", "eu-west-1,eu-central-1", "fail", "postgres")]
    [InlineData("EU", "eu-north-1,eu-north-1", "pass", "")]
    [InlineData("eu", "europe-1,eu-west-1", "fail", "postgres")]
    [InlineData(null, "eu-central-1,eu-west-1", "unknown", "")]
    [InlineData("eu", "", "unknown", "")]
    public void Each_store_must_be_in_the_tenants_residency(string? residency, string postgresAndClickHouse, string status, string outside)
    {
        var regions = postgresAndClickHouse.Length == 0
            ? new Dictionary<string, string>()
            : new Dictionary<string, string> { ["postgres"] = postgresAndClickHouse.Split(',')[0], ["clickhouse"] = postgresAndClickHouse.Split(',')[1] };
        var finding = PhantomMl.Grains.Compliance.ComplianceChecks.Residency(residency, regions);
        Assert.Equal(status, finding.Status);
        using var evidence = JsonDocument.Parse(finding.Evidence!);
        var stores = evidence.RootElement.TryGetProperty("outside", out var found)
            ? string.Join(',', found.EnumerateArray().Select(o => o.GetProperty("store").GetString()))
            : "";
        Assert.Equal(outside, stores);
    }
}
