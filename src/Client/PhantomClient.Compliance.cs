using PhantomMl.Grains.Compliance;

namespace PhantomMl.Client;

/// <summary>Compliance reports and GDPR requests: the same operations as /api/v1/tenants/{tenantKey}/compliance.</summary>
public sealed partial class PhantomClient
{
    /// <summary>Generates a GDPR, HIPAA or SOC2 report over a period (audit:manage).</summary>
    public Task<ComplianceReport> GenerateComplianceReportAsync(string tenantKey, GenerateReport command,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Compliance(tenantKey).GenerateReportAsync(command), cancellationToken);

    /// <summary>The tenant's reports, newest first.</summary>
    public Task<IReadOnlyList<ComplianceReport>> ListComplianceReportsAsync(string tenantKey, int limit = 20,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Compliance(tenantKey).ListReportsAsync(limit), cancellationToken);

    /// <summary>A report rendered as json, csv or html.</summary>
    public Task<ReportExport> ExportComplianceReportAsync(string tenantKey, Guid reportId, string format,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Compliance(tenantKey).ExportReportAsync(reportId, format), cancellationToken);

    /// <summary>Right of access: everything about one user as a ZIP archive (audit:manage).</summary>
    public Task<SubjectAccessExport> ExportSubjectDataAsync(string tenantKey, string userId, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Compliance(tenantKey).ExportSubjectAsync(userId), cancellationToken);

    /// <summary>Right to erasure of one user (audit:manage and users:manage).</summary>
    public Task<PrivacyRequestView> EraseSubjectAsync(string tenantKey, string userId, CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Compliance(tenantKey).EraseSubjectAsync(userId), cancellationToken);

    /// <summary>The tenant's access and erasure requests, newest first.</summary>
    public Task<IReadOnlyList<PrivacyRequestView>> ListPrivacyRequestsAsync(string tenantKey, int limit = 100,
        CancellationToken cancellationToken = default) =>
        CallAsync(grains => grains.Compliance(tenantKey).ListPrivacyRequestsAsync(limit), cancellationToken);
}
