using Microsoft.AspNetCore.Http.HttpResults;
using PhantomMl.Grains.Audit;

namespace PhantomMl.Silo.Apis;

/// <summary>
/// A tenant's audit trail: filtered listing, full-text search, hash-chain verification and signed digests. Reading
/// needs audit:read (auditor, tenant admin, platform admin); signing a digest needs audit:manage.
/// </summary>
public static class AuditApi
{
    /// <summary>Maps <c>/api/v1/tenants/{tenantKey}/audit</c>.</summary>
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder routes)
    {
        var audit = routes.MapGroup("/api/v1/tenants/{tenantKey}/audit").WithTags("Audit");
        audit.MapGet("/", QueryAsync)
            .WithSummary("Query the audit trail (auditor, tenant admin, platform admin); pass nextCursor as cursor for the next page");
        audit.MapGet("/search", SearchAsync)
            .WithSummary("Full-text search: q with words, \"phrases\" and prefix*; userId, action, resourceType, result, minRisk, from, to; "
                + "sort=newest|oldest|risk; cursor");
        audit.MapGet("/search/status", SearchStatusAsync).WithSummary("The search backend and how many sealed entries it has not indexed yet");
        audit.MapPost("/verify", VerifyAsync).WithSummary("Check the tenant's hash chain and signed digests; reports the first broken link");
        audit.MapGet("/digests", ListDigestsAsync).WithSummary("Signed digests of the chain, newest first");
        audit.MapPost("/digests", CreateDigestAsync).WithSummary("Sign a digest of the chain now (audit:manage); 204 when nothing is new");
        audit.MapGet("/digests/{digestId:guid}/bundle", GetBundleAsync)
            .WithSummary("A digest with its chain entries and public key, for checking offline (docs/audit.md)");
        return routes;
    }

    private static async Task<Ok<AuditPage>> QueryAsync(string tenantKey, IGrainFactory grains, DateTimeOffset? from, DateTimeOffset? to,
        string? eventType, string? resourceType, string? resourceId, string? userId, string? action, string? result, int? limit, string? cursor) =>
        TypedResults.Ok(await grains.AuditLog(tenantKey).QueryAsync(
            new AuditQuery(from, to, eventType, resourceType, resourceId, userId, action, result, limit ?? 100, cursor)));

    private static async Task<Ok<AuditSearchPage>> SearchAsync(string tenantKey, IGrainFactory grains, string? q, string? userId, string? action,
        string? resourceType, string? result, decimal? minRisk, DateTimeOffset? from, DateTimeOffset? to, string? sort, int? limit, string? cursor) =>
        TypedResults.Ok(await grains.AuditLog(tenantKey).SearchAsync(
            new AuditSearchQuery(q, userId, action, resourceType, result, minRisk, from, to, sort, limit ?? 50, cursor)));

    private static async Task<Ok<AuditSearchStatus>> SearchStatusAsync(string tenantKey, IGrainFactory grains) =>
        TypedResults.Ok(await grains.AuditLog(tenantKey).GetSearchStatusAsync());

    private static async Task<Ok<ChainVerification>> VerifyAsync(string tenantKey, IGrainFactory grains) =>
        TypedResults.Ok(await grains.AuditLog(tenantKey).VerifyAsync());

    private static async Task<Ok<IReadOnlyList<AuditDigest>>> ListDigestsAsync(string tenantKey, IGrainFactory grains, int? limit) =>
        TypedResults.Ok(await grains.AuditLog(tenantKey).ListDigestsAsync(limit ?? 100));

    private static async Task<Results<Created<AuditDigest>, NoContent>> CreateDigestAsync(string tenantKey, IGrainFactory grains) =>
        await grains.AuditLog(tenantKey).CreateDigestAsync() is { } digest
            ? TypedResults.Created($"/api/v1/tenants/{tenantKey}/audit/digests/{digest.Id}/bundle", digest)
            : TypedResults.NoContent();

    private static async Task<Ok<AuditDigestBundle>> GetBundleAsync(string tenantKey, Guid digestId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.AuditLog(tenantKey).GetDigestBundleAsync(digestId));
}
