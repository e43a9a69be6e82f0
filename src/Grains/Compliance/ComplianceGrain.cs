using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Compliance;

/// <summary>
/// See <see cref="IComplianceGrain"/>. Reports are computed from the tenant's rows and the chain's verification and
/// stored with their audit row; an access export and an erasure are privacy requests recorded before and after they run,
/// so one that fails stays visible as open (and a report flags it when overdue).
/// </summary>
[StatelessWorker]
public sealed class ComplianceGrain(
    TenantDatabase database,
    ComplianceSql complianceSql,
    ComplianceChecks checks,
    TenantSql tenantSql,
    AuditSql auditSql,
    AuditChainVerifier verifier,
    IAuditSearch search,
    AuditedChanges changes,
    AccessGuard guard,
    CredentialCache credentials,
    IOptions<ComplianceOptions> options,
    TimeProvider time) : Grain, IComplianceGrain
{
    /// <summary>The longest period one report covers.</summary>
    private static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(3 * 366);

    /// <summary>The largest access archive answered in one call.</summary>
    private const int MaxArchiveBytes = 64 * 1024 * 1024;

    private string TenantKey => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public async Task<ComplianceReport> GenerateReportAsync(GenerateReport command)
    {
        var id = Guid.CreateVersion7();
        var audit = new AuditEvent("compliance", "compliance_report", id.ToString(), "generate",
            Details: new { command?.Framework, command?.PeriodStart, command?.PeriodEnd });
        var access = await guard.AuthorizeAsync(TenantKey, Permissions.AuditManage, audit);
        var (framework, start, end, keyAge) = Validate(command);
        var now = time.GetUtcNow();

        // The chain is checked first, outside the report's transaction: the check reads the whole chain in pages.
        await GrainFactory.AuditChain(access.TenantId).SealAsync();
        var chain = await verifier.VerifyAsync(access.TenantId);
        return await changes.ApplyAsync(access.Caller, access.TenantId, audit, async (connection, transaction) =>
        {
            var tenant = (await tenantSql.LoadAsync(connection, transaction))!;
            var findings = await checks.RunAsync(transaction, tenant, framework, start, end, end < now ? end : now, keyAge, chain);
            var status = findings.Any(f => f.Status == "fail") ? "non_compliant"
                : findings.Any(f => f.Status == "unknown") ? "incomplete"
                : "compliant";
            var report = new ComplianceReport(id, TenantKey, framework, "periodic", start, end, status, findings,
                ComplianceChecks.Remediation(findings), now, access.Caller.UserId);
            await complianceSql.InsertReportAsync(transaction, report);
            return report;
        });
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ComplianceReport>> ListReportsAsync(int limit)
    {
        var access = await guard.AuthorizeAsync(TenantKey, Permissions.AuditRead,
            new AuditEvent("data_access", "compliance_report", TenantKey, "list"));
        if (limit is < 1 or > 100)
        {
            throw PhantomException.Invalid("limit must be 1-100.", "limit");
        }

        return await database.InTenantAsync(access.TenantId, (_, transaction) => complianceSql.ReadReportsAsync(transaction, TenantKey, limit));
    }

    /// <inheritdoc />
    public async Task<ComplianceReport> GetReportAsync(Guid reportId)
    {
        var access = await guard.AuthorizeAsync(TenantKey, Permissions.AuditRead,
            new AuditEvent("data_access", "compliance_report", reportId.ToString(), "read"));
        return await LoadAsync(access.TenantId, reportId);
    }

    /// <inheritdoc />
    public async Task<ReportExport> ExportReportAsync(Guid reportId, string format)
    {
        var audit = new AuditEvent("data_access", "compliance_report", reportId.ToString(), "export",
            Details: new { format = BoundedText.Fit(format, 20) });
        var access = await guard.AuthorizeAsync(TenantKey, Permissions.AuditRead, audit);
        var export = ReportFormats.Render(await LoadAsync(access.TenantId, reportId), format);
        await auditSql.RecordAloneAsync(access.TenantId, access.Caller.UserId, access.Caller.Client, audit);
        return export;
    }

    /// <inheritdoc />
    public async Task<SubjectAccessExport> ExportSubjectAsync(string userId)
    {
        var id = Guid.CreateVersion7();
        var audit = new AuditEvent("compliance", "privacy_request", id.ToString(), "gdpr-access");
        var access = await guard.AuthorizeAsync(TenantKey, Permissions.AuditManage, audit);
        var subject = TenantValidation.UserId(userId);
        var limit = options.Value.AccessExportMaxRows;
        return await changes.ApplyAsync(access.Caller, access.TenantId, audit, async (_, transaction) =>
        {
            var profile = await ComplianceSql.UserAsync(transaction, subject) ?? throw PhantomException.NotFound("tenant-user", subject);
            var request = await complianceSql.InsertRequestAsync(transaction, id, "access", subject, access.Caller.UserId);
            var archive = new SubjectArchive();
            archive.AddJson("profile.json", profile, "The user's account in the tenant: id, e-mail, roles, status, MFA, last sign-in.");
            archive.AddAudit("audit-by-user.jsonl", await ComplianceSql.AuditRowsAsync(transaction, subject, byUser: true, limit + 1), limit,
                "Every audit row of what the user did, with the addresses and user agents recorded.");
            archive.AddAudit("audit-about-user.jsonl", await ComplianceSql.AuditRowsAsync(transaction, subject, byUser: false, limit + 1), limit,
                "Audit rows of what others did about the user (their account, their keys).");
            var counts = new Dictionary<string, int>();
            foreach (var table in ComplianceSql.CreatedByTables.Append("audit_user_addresses"))
            {
                var rows = await ComplianceSql.RowsAsync(transaction, table, subject, limit + 1);
                counts[table] = Math.Min(rows.Count, limit);
                archive.AddLines($"{table}.jsonl", rows.Take(limit).ToList(), rows.Count > limit,
                    table switch
                    {
                        "api_keys" => "The user's API keys (never their secrets) and keys they issued.",
                        "audit_user_addresses" => "The network addresses the user was seen from, and when last (for the risk score).",
                        _ => $"Rows of {table} the user created.",
                    });
            }

            var bytes = archive.Finish(new { tenant = TenantKey, userId = subject, requestId = id, generatedAt = time.GetUtcNow() });
            if (bytes.Length > MaxArchiveBytes)
            {
                throw PhantomException.TooLarge($"The archive is {bytes.Length} bytes, more than one answer carries ({MaxArchiveBytes}); lower " +
                    "Phantom:Compliance:AccessExportMaxRows and export again.");
            }

            request = await complianceSql.FinishRequestAsync(transaction, id, "completed", subject, new { bytes = bytes.Length, rows = counts });
            return new SubjectAccessExport(request, $"access-{TenantKey}-{id:N}.zip", bytes);
        });
    }

    /// <inheritdoc />
    public async Task<PrivacyRequestView> EraseSubjectAsync(string userId)
    {
        var id = Guid.CreateVersion7();
        var audit = new AuditEvent("compliance", "privacy_request", id.ToString(), "erasure-request");
        var access = await guard.AuthorizeAsync(TenantKey, Permissions.AuditManage, audit);
        if (!access.Caller.Can(Permissions.UsersManage))
        {
            await guard.RefuseAsync(access.Caller, audit, Permissions.UsersManage);
        }

        var subject = TenantValidation.UserId(userId);
        if (subject == access.Caller.UserId)
        {
            throw PhantomException.Conflict("You cannot erase yourself: another tenant admin erases your account.");
        }

        await changes.ApplyAsync(access.Caller, access.TenantId, audit, async (_, transaction) =>
        {
            if (await ComplianceSql.UserAsync(transaction, subject) is null)
            {
                throw PhantomException.NotFound("tenant-user", subject);
            }

            return await complianceSql.InsertRequestAsync(transaction, id, "erasure", subject, access.Caller.UserId);
        });

        // The erasure commits as a whole or not at all; the request (recorded above) says which.
        (PrivacyRequestView Request, List<string> Models) erased;
        try
        {
            erased = await changes.ApplyAsync(access.Caller, access.TenantId, audit with { Action = "erase-user" }, async (_, transaction) =>
            {
                var (changed, models) = await complianceSql.EraseAsync(transaction, id, subject);
                var request = await complianceSql.FinishRequestAsync(transaction, id, "completed", AuditChainFormat.Pseudonym(id), new { changed });
                return (request, models);
            }, eventIdSuffix: ":erase");
        }
        catch (Exception e) when (e is not PhantomException { Status: < 500 })
        {
            await database.InTenantAsync(access.TenantId, (_, transaction) =>
                complianceSql.FinishRequestAsync(transaction, id, "failed", subject, new { error = BoundedText.Fit(e.Message, 500) }));
            throw;
        }

        // The user's keys were revoked and the user disabled: every silo forgets them before this answers. The models
        // they created hold the old created_by in their activations and the shared cache.
        await credentials.ForgetAllAsync();
        await Task.WhenAll(erased.Models.Select(model => GrainFactory.ModelRefresh(TenantKey, model).RefreshAsync()));
        // A search index holds the rows as they were: index the tenant's chain again (by row id, so it overwrites them).
        await search.ResetAsync(access.TenantId);
        await GrainFactory.AuditChain(access.TenantId).SealAsync();
        return erased.Request;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PrivacyRequestView>> ListPrivacyRequestsAsync(int limit)
    {
        var access = await guard.AuthorizeAsync(TenantKey, Permissions.AuditRead,
            new AuditEvent("data_access", "privacy_request", TenantKey, "list"));
        if (limit is < 1 or > 500)
        {
            throw PhantomException.Invalid("limit must be 1-500.", "limit");
        }

        return await database.InTenantAsync(access.TenantId, (_, transaction) => complianceSql.ListRequestsAsync(transaction, limit));
    }

    private async Task<ComplianceReport> LoadAsync(Guid tenantId, Guid reportId) =>
        (await database.InTenantAsync(tenantId, (_, transaction) => complianceSql.ReadReportsAsync(transaction, TenantKey, 1, reportId)))
            .SingleOrDefault() ?? throw PhantomException.NotFound("compliance report", reportId.ToString());

    private (string Framework, DateTimeOffset Start, DateTimeOffset End, int KeyAge) Validate(GenerateReport? command)
    {
        var valid = command ?? throw PhantomException.Invalid("Send the framework and the period.", "body");
        var framework = valid.Framework?.ToUpperInvariant();
        if (framework is null || !ComplianceChecks.ChecksByFramework.ContainsKey(framework))
        {
            throw PhantomException.Invalid(
                $"framework must be one of {string.Join(", ", ComplianceChecks.ChecksByFramework.Keys.Order())}.", "framework");
        }

        PlausibleTime.Check(valid.PeriodStart, "periodStart");
        PlausibleTime.Check(valid.PeriodEnd, "periodEnd");
        if (valid.PeriodEnd <= valid.PeriodStart || valid.PeriodEnd - valid.PeriodStart > MaxPeriod)
        {
            throw PhantomException.Invalid("periodEnd must be after periodStart, at most three years later.", "periodEnd");
        }

        if (valid.ApiKeyMaxAgeDays is < 1 or > 3650)
        {
            throw PhantomException.Invalid("apiKeyMaxAgeDays must be 1-3650.", "apiKeyMaxAgeDays");
        }

        return (framework, valid.PeriodStart, valid.PeriodEnd, valid.ApiKeyMaxAgeDays ?? options.Value.ApiKeyMaxAgeDays);
    }
}
