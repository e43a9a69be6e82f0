using Microsoft.AspNetCore.Http.HttpResults;
using PhantomMl.Grains.Audit;

namespace PhantomMl.Silo.Apis;

/// <summary>A tenant's audit trail, newest first, with filters and keyset pagination.</summary>
public static class AuditApi
{
    /// <summary>Maps <c>/api/v1/tenants/{tenantKey}/audit</c>.</summary>
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/v1/tenants/{tenantKey}/audit", QueryAsync)
            .WithTags("Audit")
            .WithSummary("Query the audit trail (auditor, tenant admin, platform admin); pass nextCursor as cursor for the next page");
        return routes;
    }

    private static async Task<Ok<AuditPage>> QueryAsync(string tenantKey, IGrainFactory grains, DateTimeOffset? from, DateTimeOffset? to,
        string? eventType, string? resourceType, string? resourceId, string? userId, string? action, string? result, int? limit, string? cursor) =>
        TypedResults.Ok(await grains.AuditLog(tenantKey).QueryAsync(
            new AuditQuery(from, to, eventType, resourceType, resourceId, userId, action, result, limit ?? 100, cursor)));
}
