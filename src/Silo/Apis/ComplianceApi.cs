using Microsoft.AspNetCore.Http.HttpResults;
using PhantomMl.Grains.Compliance;

namespace PhantomMl.Silo.Apis;

/// <summary>
/// Compliance reports (generate: audit:manage; read and export: audit:read) and GDPR requests (access export and
/// erasure: audit:manage, erasure also users:manage; the list: audit:read). See docs/compliance.md.
/// </summary>
public static class ComplianceApi
{
    /// <summary>Body of POST .../privacy/access and .../privacy/erasure.</summary>
    public sealed record SubjectRequest(string UserId);

    /// <summary>Maps <c>/api/v1/tenants/{tenantKey}/compliance</c>.</summary>
    public static IEndpointRouteBuilder MapComplianceApi(this IEndpointRouteBuilder routes)
    {
        var compliance = routes.MapGroup("/api/v1/tenants/{tenantKey}/compliance").WithTags("Compliance");
        compliance.MapPost("/reports", GenerateAsync)
            .WithSummary("Generate a GDPR, HIPAA or SOC2 report over a period from the tenant's records (audit:manage)");
        compliance.MapGet("/reports", ListAsync).WithSummary("The tenant's reports, newest first");
        compliance.MapGet("/reports/{reportId:guid}", GetAsync).WithSummary("One report with its findings and remediation");
        compliance.MapGet("/reports/{reportId:guid}/export", ExportAsync)
            .WithSummary("The report as format=json, csv or html (a page to hand to an auditor)");
        compliance.MapPost("/privacy/access", AccessAsync)
            .WithSummary("Right of access: a ZIP of everything the platform holds about one user (audit:manage)");
        compliance.MapPost("/privacy/erasure", EraseAsync)
            .WithSummary("Right to erasure: disable the user, revoke their keys, remove their personal data; the audit chain still verifies");
        compliance.MapGet("/privacy/requests", ListRequestsAsync).WithSummary("Access and erasure requests, newest first");
        return routes;
    }

    private static async Task<Created<ComplianceReport>> GenerateAsync(string tenantKey, GenerateReport request, IGrainFactory grains)
    {
        var report = await grains.Compliance(tenantKey).GenerateReportAsync(request);
        return TypedResults.Created($"/api/v1/tenants/{tenantKey}/compliance/reports/{report.Id}", report);
    }

    private static async Task<Ok<IReadOnlyList<ComplianceReport>>> ListAsync(string tenantKey, int? limit, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Compliance(tenantKey).ListReportsAsync(limit ?? 20));

    private static async Task<Ok<ComplianceReport>> GetAsync(string tenantKey, Guid reportId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Compliance(tenantKey).GetReportAsync(reportId));

    private static async Task<ContentHttpResult> ExportAsync(string tenantKey, Guid reportId, string? format, HttpContext http, IGrainFactory grains)
    {
        var export = await grains.Compliance(tenantKey).ExportReportAsync(reportId, format ?? "html");
        // The page is self-contained: nothing to load, nothing to run.
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'";
        http.Response.Headers.ContentDisposition = $"{(format is null or "html" ? "inline" : "attachment")}; filename=\"{export.FileName}\"";
        return TypedResults.Text(export.Content, export.ContentType);
    }

    private static async Task<FileContentHttpResult> AccessAsync(string tenantKey, SubjectRequest request, IGrainFactory grains)
    {
        var export = await grains.Compliance(tenantKey).ExportSubjectAsync(request.UserId);
        return TypedResults.File(export.Archive, "application/zip", export.FileName);
    }

    private static async Task<Ok<PrivacyRequestView>> EraseAsync(string tenantKey, SubjectRequest request, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Compliance(tenantKey).EraseSubjectAsync(request.UserId));

    private static async Task<Ok<IReadOnlyList<PrivacyRequestView>>> ListRequestsAsync(string tenantKey, int? limit, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Compliance(tenantKey).ListPrivacyRequestsAsync(limit ?? 100));
}
