using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Compliance;

/// <summary>
/// The checks of a compliance report, each computed from the tenant's own rows (docs/compliance.md lists them with
/// their rules): which ones a framework needs, what each found, and what to do about a failure.
/// </summary>
public sealed class ComplianceChecks(IOptions<ComplianceOptions> options)
{
    /// <summary>The frameworks a report can be generated for, with their checks.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> ChecksByFramework = new Dictionary<string, string[]>
    {
        ["GDPR"] = ["framework-declared", "admin-mfa", "denied-access", "audit-chain", "data-residency", "privacy-requests"],
        ["HIPAA"] = ["framework-declared", "admin-mfa", "api-key-rotation", "unused-api-keys", "denied-access", "audit-chain", "audit-retention"],
        ["SOC2"] = ["framework-declared", "admin-mfa", "api-key-rotation", "unused-api-keys", "denied-access", "audit-chain", "audit-retention"],
    };

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly Dictionary<string, (string Priority, string Action)> Remedies = new()
    {
        ["framework-declared"] = ("medium", "Add the framework to the tenant's complianceFrameworks (PATCH /api/v1/tenants/{key}) so its retention " +
            "and tags apply to every new audit row."),
        ["admin-mfa"] = ("high", "Enable multi-factor authentication for every tenant admin listed, or remove the tenant-admin role."),
        ["api-key-rotation"] = ("high", "Rotate the listed keys: issue a new key, move the client to it, revoke the old one."),
        ["unused-api-keys"] = ("medium", "Revoke the listed keys: a key nobody uses is only a way in."),
        ["denied-access"] = ("high", "Investigate the hours listed (audit search with result=denied) and block or revoke the callers behind them."),
        ["audit-chain"] = ("critical", "Treat the break as an incident: restore the altered or removed rows from backup and find who had " +
            "owner access."),
        ["audit-retention"] = ("high", "Rows were written with a retention shorter than the framework needs (the framework was added later, or the " +
            "tenant's quota was lower): export them to an archive kept for the required time."),
        ["data-residency"] = ("high", "Move the tenant's data to a store in its residency region, or correct the tenant's data_residency."),
        ["privacy-requests"] = ("high", "Complete the overdue or failed privacy requests (GDPR art. 12(3): within one month)."),
    };

    /// <summary>Runs <paramref name="framework"/>'s checks in the tenant's transaction; the chain was verified before.</summary>
    public async Task<List<ComplianceFinding>> RunAsync(NpgsqlTransaction transaction, TenantRecord tenant, string framework, DateTimeOffset start,
        DateTimeOffset end, DateTimeOffset asOf, int keyMaxAgeDays, ChainVerification chain)
    {
        var findings = new List<ComplianceFinding>();
        foreach (var check in ChecksByFramework[framework])
        {
            findings.Add(check switch
            {
                "framework-declared" => FrameworkDeclared(tenant, framework),
                "admin-mfa" => await AdminsWithoutMfaAsync(transaction),
                "api-key-rotation" => await OldKeysAsync(transaction, asOf, keyMaxAgeDays),
                "unused-api-keys" => await UnusedKeysAsync(transaction, asOf),
                "denied-access" => await DeniedSpikesAsync(transaction, start, end),
                "audit-chain" => Chain(chain),
                "audit-retention" => await RetentionAsync(transaction, framework, start, end),
                "data-residency" => Residency(tenant.DataResidency, options.Value.StorageRegions),
                "privacy-requests" => await PrivacyRequestsAsync(transaction, start, end, asOf),
                _ => throw new InvalidOperationException($"No check '{check}'."),
            });
        }

        return findings;
    }

    /// <summary>What to do about each failed finding, most urgent first.</summary>
    public static List<RemediationAction> Remediation(IEnumerable<ComplianceFinding> findings)
    {
        string[] order = ["critical", "high", "medium", "low"];
        return findings.Where(f => f.Status == "fail")
            .Select(f => new RemediationAction(f.Check, Remedies[f.Check].Priority, Remedies[f.Check].Action))
            .OrderBy(a => Array.IndexOf(order, a.Priority)).ToList();
    }

    private static ComplianceFinding FrameworkDeclared(TenantRecord tenant, string framework) =>
        tenant.ComplianceFrameworks.Contains(framework, StringComparer.OrdinalIgnoreCase)
            ? Finding("framework-declared", "The tenant declares the framework", "medium", true, $"{framework} is among the tenant's frameworks.",
                new { frameworks = tenant.ComplianceFrameworks })
            : Finding("framework-declared", "The tenant declares the framework", "medium", false,
                $"{framework} is not among the tenant's frameworks: its retention minimum and tags do not apply to the tenant's audit rows.",
                new { frameworks = tenant.ComplianceFrameworks });

    private static async Task<ComplianceFinding> AdminsWithoutMfaAsync(NpgsqlTransaction transaction)
    {
        var admins = await ListAsync(transaction, """
            SELECT user_id FROM tenant_users
             WHERE tenant_id = @tenant AND status = 'active' AND 'tenant-admin' = ANY (roles) AND NOT mfa_enabled
             ORDER BY user_id LIMIT 1000
            """, reader => reader.GetString(0));
        return Finding("admin-mfa", "Tenant admins use multi-factor authentication", "high", admins.Count == 0,
            admins.Count == 0 ? "Every active tenant admin has MFA enabled." : $"{admins.Count} active tenant admin(s) without MFA.",
            new { adminsWithoutMfa = admins });
    }

    private static async Task<ComplianceFinding> OldKeysAsync(NpgsqlTransaction transaction, DateTimeOffset asOf, int maxAgeDays)
    {
        var keys = await ActiveKeysOlderThanAsync(transaction, asOf, maxAgeDays, neverUsed: false);
        return Finding("api-key-rotation", $"API keys are rotated within {maxAgeDays} days", "high", keys.Count == 0,
            keys.Count == 0 ? $"No active key is older than {maxAgeDays} days." : $"{keys.Count} active key(s) older than {maxAgeDays} days.",
            new { maxAgeDays, keys });
    }

    private async Task<ComplianceFinding> UnusedKeysAsync(NpgsqlTransaction transaction, DateTimeOffset asOf)
    {
        var days = options.Value.UnusedApiKeyDays;
        var keys = await ActiveKeysOlderThanAsync(transaction, asOf, days, neverUsed: true);
        return Finding("unused-api-keys", "No active API key goes unused", "medium", keys.Count == 0,
            keys.Count == 0 ? $"Every active key older than {days} days has been used." : $"{keys.Count} active key(s) never used in {days} days.",
            new { unusedDays = days, keys });
    }

    /// <summary>The tenant's unrevoked, unexpired keys created more than <paramref name="days"/> before <paramref name="asOf"/>.</summary>
    private static Task<List<object>> ActiveKeysOlderThanAsync(NpgsqlTransaction transaction, DateTimeOffset asOf, int days, bool neverUsed) =>
        ListAsync(transaction, """
            SELECT k.prefix, u.user_id, k.created_at FROM api_keys k JOIN tenant_users u ON u.tenant_id = k.tenant_id AND u.id = k.tenant_user_id
             WHERE k.tenant_id = @tenant AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > @asOf)
               AND (NOT @neverUsed OR k.last_used_at IS NULL) AND k.created_at < @asOf - make_interval(days => @days)
             ORDER BY k.created_at LIMIT 1000
            """, reader => (object)new { prefix = reader.GetString(0), userId = reader.GetString(1), createdAt = reader.GetFieldValue<DateTimeOffset>(2) },
            ("asOf", asOf), ("days", days), ("neverUsed", neverUsed));

    private async Task<ComplianceFinding> DeniedSpikesAsync(NpgsqlTransaction transaction, DateTimeOffset start, DateTimeOffset end)
    {
        var hours = await ListAsync(transaction, """
            SELECT date_trunc('hour', "timestamp"), count(*) FROM audit_logs
             WHERE tenant_id = @tenant AND result = 'denied' AND "timestamp" >= @start AND "timestamp" < @end
             GROUP BY 1 ORDER BY 1
            """, reader => (Hour: reader.GetFieldValue<DateTimeOffset>(0), Count: reader.GetInt64(1)), ("start", start), ("end", end));
        var total = hours.Sum(h => h.Count);
        var mean = total / Math.Max(1.0, (end - start).TotalHours);
        var threshold = Math.Max(options.Value.DeniedSpikeMinimum, 3 * mean);
        var spikes = hours.Where(h => h.Count >= threshold).OrderByDescending(h => h.Count).Take(48)
            .Select(h => new { hour = h.Hour, denied = h.Count }).ToList();
        return Finding("denied-access", "No spikes of denied access", "high", spikes.Count == 0,
            spikes.Count == 0
                ? $"{total} denied request(s) in the period; no hour reached {Math.Ceiling(threshold)}."
                : $"{spikes.Count} hour(s) with at least {Math.Ceiling(threshold)} denied requests ({total} in the period).",
            new { totalDenied = total, hourlyMean = Math.Round(mean, 3), spikeThreshold = Math.Ceiling(threshold), spikes });
    }

    private static ComplianceFinding Chain(ChainVerification chain) =>
        Finding("audit-chain", "The audit trail is complete and unaltered", "critical", chain.Valid,
            chain.Valid
                ? $"The hash chain verifies: {chain.EntriesChecked} entries, {chain.DigestsChecked} signed digest(s)."
                : $"The hash chain is broken ({chain.Break!.Kind} at entry {chain.Break.Seq}): {chain.Break.Detail}",
            new { chain.Valid, chain.EntriesChecked, chain.RetiredEntries, chain.HeadSeq, chain.DigestsChecked, chain.Break, chain.CheckedAt });

    private static async Task<ComplianceFinding> RetentionAsync(NpgsqlTransaction transaction, string framework, DateTimeOffset start,
        DateTimeOffset end)
    {
        var rows = await ListAsync(transaction, """
            SELECT count(a.id), min(a."timestamp"), r.minimum_retention::text
              FROM audit_framework_rules r
              LEFT JOIN audit_logs a ON a.tenant_id = @tenant AND a."timestamp" >= @start AND a."timestamp" < @end
                   AND (r.event_types IS NULL OR a.event_type = ANY (r.event_types))
                   AND a.retention_until < a."timestamp" + r.minimum_retention
             WHERE r.framework = @framework
             GROUP BY r.minimum_retention
            """, reader => (Count: reader.GetInt64(0), First: reader.IsDBNull(1) ? (DateTimeOffset?)null : reader.GetFieldValue<DateTimeOffset>(1),
                Minimum: reader.GetString(2)), ("start", start), ("end", end), ("framework", framework));
        var (count, first, minimum) = rows.Single();
        return Finding("audit-retention", $"Audit rows are kept at least {minimum}", "high", count == 0,
            count == 0
                ? $"Every audit row of the period is kept at least {minimum}."
                : $"{count} audit row(s) of the period expire before {minimum}.",
            new { minimumRetention = minimum, rowsShort = count, firstShortRow = first });
    }

    /// <summary>
    /// The data-residency check: each store's region (<paramref name="regions"/>, store → region) against the tenant's
    /// residency; <c>unknown</c> when either is missing.
    /// </summary>
    public static ComplianceFinding Residency(string? dataResidency, IReadOnlyDictionary<string, string> regions)
    {
        const string Title = "Data stays in the tenant's residency region";
        if (dataResidency is not { } residency)
        {
            return Finding("data-residency", Title, "high", null, "The tenant declares no data residency: there is nothing to compare with.",
                new { storageRegions = regions });
        }

        if (regions.Count == 0)
        {
            return Finding("data-residency", Title, "high", null,
                "The platform's storage regions are not configured (Phantom:Compliance:StorageRegions): the residency cannot be checked.",
                new { residency });
        }

        // "eu" covers eu-central-1; "eu-central-1" covers only itself.
        var outside = regions
            .Where(r => !(r.Value.Equals(residency, StringComparison.OrdinalIgnoreCase)
                          || r.Value.StartsWith(residency + "-", StringComparison.OrdinalIgnoreCase)))
            .Select(r => new { store = r.Key, region = r.Value }).ToList();
        return Finding("data-residency", Title, "high", outside.Count == 0,
            outside.Count == 0 ? $"Every store is in {residency}." : $"{outside.Count} store(s) outside {residency}.",
            new { residency, storageRegions = regions, outside });
    }

    private async Task<ComplianceFinding> PrivacyRequestsAsync(NpgsqlTransaction transaction, DateTimeOffset start, DateTimeOffset end,
        DateTimeOffset asOf)
    {
        var days = options.Value.PrivacyRequestDays;
        var requests = await ListAsync(transaction, """
            SELECT id, kind, status, requested_at, completed_at FROM privacy_requests
             WHERE tenant_id = @tenant AND requested_at >= @start AND requested_at < @end
             ORDER BY requested_at LIMIT 10000
            """, reader => (Id: reader.GetGuid(0), Kind: reader.GetString(1), Status: reader.GetString(2),
                At: reader.GetFieldValue<DateTimeOffset>(3),
                Completed: reader.IsDBNull(4) ? (DateTimeOffset?)null : reader.GetFieldValue<DateTimeOffset>(4)),
            ("start", start), ("end", end));
        var overdue = requests.Where(r => r.Status == "received" && r.At < asOf.AddDays(-days)).Select(r => new { r.Id, r.Kind, requestedAt = r.At })
            .ToList();
        var failed = requests.Where(r => r.Status == "failed").Select(r => new { r.Id, r.Kind, requestedAt = r.At }).ToList();
        var done = requests.Where(r => r.Completed is not null).Select(r => (r.Completed!.Value - r.At).TotalHours).Order().ToList();
        var summary = new
        {
            access = requests.Count(r => r.Kind == "access"), erasure = requests.Count(r => r.Kind == "erasure"),
            completed = done.Count, open = requests.Count(r => r.Status == "received"), failed, overdue,
            medianHoursToComplete = done.Count == 0 ? (double?)null : Math.Round(done[done.Count / 2], 3), deadlineDays = days,
        };
        return Finding("privacy-requests", "Access and erasure requests are completed in time", "high", overdue.Count == 0 && failed.Count == 0,
            $"{summary.access} access and {summary.erasure} erasure request(s): {summary.completed} completed, {summary.open} open, " +
            $"{overdue.Count} overdue, {failed.Count} failed.", summary);
    }

    private static ComplianceFinding Finding(string check, string title, string severity, bool? passed, string summary, object evidence) =>
        new(check, title, severity, passed switch { true => "pass", false => "fail", null => "unknown" }, summary,
            JsonSerializer.Serialize(evidence, Json));

    private static async Task<List<T>> ListAsync<T>(NpgsqlTransaction transaction, string sql, Func<NpgsqlDataReader, T> read,
        params (string Name, object Value)[] parameters)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var items = new List<T>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            items.Add(read(reader));
        }

        return items;
    }
}
