using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Compliance;

/// <summary>
/// Generates a report for <see cref="Framework"/> (GDPR, HIPAA or SOC2) over [<see cref="PeriodStart"/>,
/// <see cref="PeriodEnd"/>). <see cref="ApiKeyMaxAgeDays"/> overrides the configured rotation age (1-3650).
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.compliance.GenerateReport")]
public sealed record GenerateReport(
    [property: Id(0)] string Framework,
    [property: Id(1)] DateTimeOffset PeriodStart,
    [property: Id(2)] DateTimeOffset PeriodEnd,
    [property: Id(3)] int? ApiKeyMaxAgeDays = null);

/// <summary>
/// One check of a report: <see cref="Status"/> is <c>pass</c>, <c>fail</c> or <c>unknown</c> (the platform cannot tell,
/// e.g. storage regions not configured); <see cref="Evidence"/> is JSON of what the check found.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.compliance.ComplianceFinding")]
public sealed record ComplianceFinding(
    [property: Id(0)] string Check,
    [property: Id(1)] string Title,
    [property: Id(2)] string Severity,
    [property: Id(3)] string Status,
    [property: Id(4)] string Summary,
    [property: Id(5)] string? Evidence);

/// <summary>What to do about a failed check, most urgent first.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.compliance.RemediationAction")]
public sealed record RemediationAction(
    [property: Id(0)] string Check,
    [property: Id(1)] string Priority,
    [property: Id(2)] string Action);

/// <summary>
/// A stored report (compliance_reports). <see cref="Status"/>: <c>compliant</c> (every check passed),
/// <c>non_compliant</c> (one failed) or <c>incomplete</c> (none failed, one unknown).
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.compliance.ComplianceReport")]
public sealed record ComplianceReport(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string TenantKey,
    [property: Id(2)] string Framework,
    [property: Id(3)] string ReportType,
    [property: Id(4)] DateTimeOffset PeriodStart,
    [property: Id(5)] DateTimeOffset PeriodEnd,
    [property: Id(6)] string Status,
    [property: Id(7)] IReadOnlyList<ComplianceFinding> Findings,
    [property: Id(8)] IReadOnlyList<RemediationAction> RemediationActions,
    [property: Id(9)] DateTimeOffset GeneratedAt,
    [property: Id(10)] string GeneratedBy);

/// <summary>A report rendered for download: JSON, CSV (one line per finding) or a standalone HTML page.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.compliance.ReportExport")]
public sealed record ReportExport(
    [property: Id(0)] string ContentType,
    [property: Id(1)] string FileName,
    [property: Id(2)] string Content);

/// <summary>
/// A GDPR request about one user of the tenant: <c>access</c> (export everything about them) or <c>erasure</c>.
/// <see cref="Subject"/> is the user's id, or the pseudonym <c>erased:{id}</c> once an erasure completed.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.compliance.PrivacyRequestView")]
public sealed record PrivacyRequestView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Kind,
    [property: Id(2)] string Subject,
    [property: Id(3)] string Status,
    [property: Id(4)] DateTimeOffset RequestedAt,
    [property: Id(5)] DateTimeOffset? CompletedAt,
    [property: Id(6)] string RequestedBy,
    [property: Id(7)] string? Details);

/// <summary>The answer to an access request: one ZIP archive of everything the platform holds about the user.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.compliance.SubjectAccessExport")]
public sealed record SubjectAccessExport(
    [property: Id(0)] PrivacyRequestView Request,
    [property: Id(1)] string FileName,
    [property: Id(2)] byte[] Archive);

/// <summary>A tenant's compliance reports and GDPR requests (key: tenant key). Stateless: scales out across silos.</summary>
[ClientCallable]
[Alias("phantomml.compliance.IComplianceGrain")]
public interface IComplianceGrain : IGrainWithStringKey
{
    /// <summary>Computes a report from the tenant's data and stores it (audit:manage).</summary>
    [Alias("GenerateReportAsync")] Task<ComplianceReport> GenerateReportAsync(GenerateReport command);

    /// <summary>The tenant's reports, newest first (audit:read).</summary>
    [Alias("ListReportsAsync")] Task<IReadOnlyList<ComplianceReport>> ListReportsAsync(int limit);

    /// <summary>One report (audit:read).</summary>
    [Alias("GetReportAsync")] Task<ComplianceReport> GetReportAsync(Guid reportId);

    /// <summary>A report as <c>json</c>, <c>csv</c> or <c>html</c> (audit:read).</summary>
    [Alias("ExportReportAsync")] Task<ReportExport> ExportReportAsync(Guid reportId, string format);

    /// <summary>Right of access: exports everything about one user of the tenant as a ZIP archive (audit:manage).</summary>
    [Alias("ExportSubjectAsync")] Task<SubjectAccessExport> ExportSubjectAsync(string userId);

    /// <summary>
    /// Right to erasure: disables the user, revokes their keys and removes their personal data from the tenant's
    /// records, audit trail included, while the hash chain still verifies (audit:manage and users:manage).
    /// </summary>
    [Alias("EraseSubjectAsync")] Task<PrivacyRequestView> EraseSubjectAsync(string userId);

    /// <summary>The tenant's privacy requests, newest first (audit:read).</summary>
    [Alias("ListPrivacyRequestsAsync")] Task<IReadOnlyList<PrivacyRequestView>> ListPrivacyRequestsAsync(int limit);
}

/// <summary>References to the Compliance area's grains, keyed by <see cref="GrainKeys"/>.</summary>
public static class ComplianceGrainFactory
{
    /// <summary>A tenant's compliance reports and privacy requests.</summary>
    public static IComplianceGrain Compliance(this IGrainFactory grains, string tenantKey) =>
        grains.GetGrain<IComplianceGrain>(GrainKeys.Tenant(tenantKey));
}
