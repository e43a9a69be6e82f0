using Microsoft.AspNetCore.Http.HttpResults;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Silo.Apis;

/// <summary>
/// Tenants, their users, API keys and quotas. Every handler is a thin call into the tenant's grain, which
/// authenticates the key, authorizes and audits; errors come back as ProblemDetails (see ProblemExceptionHandler).
/// </summary>
public static class TenantsApi
{
    /// <summary>Maps <c>/api/v1/tenants</c> and <c>/api/v1/me</c>.</summary>
    public static IEndpointRouteBuilder MapTenantsApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/v1/me", WhoAmIAsync).WithTags("Tenants").WithSummary("The caller behind the API key: user, tenant, roles, permissions");

        var tenants = routes.MapGroup("/api/v1/tenants").WithTags("Tenants");
        tenants.MapPost("/", CreateTenantAsync).WithSummary("Create a tenant (platform admin)");
        tenants.MapGet("/", ListTenantsAsync).WithSummary("List tenants in key order (platform admin)");
        tenants.MapGet("/{tenantKey}", GetTenantAsync).WithSummary("Read a tenant");
        tenants.MapPatch("/{tenantKey}", UpdateTenantAsync)
            .WithSummary("Change a tenant's name, tier, quotas, compliance frameworks or data residency (platform admin)");
        tenants.MapPost("/{tenantKey}/suspend", SuspendAsync).WithSummary("Suspend a tenant: its users' keys are refused (platform admin)");
        tenants.MapPost("/{tenantKey}/reactivate", ReactivateAsync).WithSummary("Reactivate a suspended tenant (platform admin)");

        tenants.MapGet("/{tenantKey}/users", ListUsersAsync).WithSummary("List the tenant's users");
        tenants.MapPost("/{tenantKey}/users", AddUserAsync).WithSummary("Add a user (tenant admin); counts against the users quota");
        tenants.MapGet("/{tenantKey}/users/{userId}", GetUserAsync).WithSummary("Read a user");
        tenants.MapPatch("/{tenantKey}/users/{userId}", UpdateUserAsync)
            .WithSummary("Change a user's email, roles, permissions, status (active/disabled) or MFA flag (tenant admin)");

        tenants.MapGet("/{tenantKey}/users/{userId}/api-keys", ListApiKeysAsync).WithSummary("List a user's API keys, without secrets");
        tenants.MapPost("/{tenantKey}/users/{userId}/api-keys", CreateApiKeyAsync)
            .WithSummary("Issue an API key for a user; the secret is in this answer only");
        tenants.MapDelete("/{tenantKey}/api-keys/{keyId:guid}",
            RevokeApiKeyAsync).WithSummary("Revoke an API key; it is refused from the next call on");

        tenants.MapGet("/{tenantKey}/quotas", GetQuotasAsync).WithSummary("Quota limits and current usage");
        return routes;
    }

    /// <summary>Body of POST /api/v1/tenants.</summary>
    public sealed record CreateTenantRequest(
        string TenantKey,
        string Name,
        string? SubscriptionTier = null,
        string? IsolationLevel = null,
        IReadOnlyDictionary<string, long>? ResourceQuotas = null,
        IReadOnlyList<string>? ComplianceFrameworks = null,
        string? DataResidency = null);

    /// <summary>Body of POST /api/v1/tenants/{key}/suspend.</summary>
    public sealed record SuspendRequest(string Reason);

    private static async Task<Ok<CallerView>> WhoAmIAsync(IGrainFactory grains) => TypedResults.Ok(await grains.TenantDirectory().WhoAmIAsync());

    private static async Task<Created<TenantView>> CreateTenantAsync(CreateTenantRequest request, IGrainFactory grains)
    {
        TenantValidation.TenantKey(request.TenantKey ?? "");
        var tenant = await grains.Tenant(request.TenantKey!).CreateAsync(new CreateTenant(request.Name, request.SubscriptionTier,
            request.IsolationLevel, request.ResourceQuotas, request.ComplianceFrameworks, request.DataResidency));
        return TypedResults.Created($"/api/v1/tenants/{tenant.TenantKey}", tenant);
    }

    private static async Task<Ok<IReadOnlyList<TenantView>>> ListTenantsAsync(IGrainFactory grains, string? after, int? limit) =>
        TypedResults.Ok(await grains.TenantDirectory().ListTenantsAsync(after, limit ?? 100));

    private static async Task<Ok<TenantView>> GetTenantAsync(string tenantKey, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Tenant(tenantKey).GetAsync());

    private static async Task<Ok<TenantView>> UpdateTenantAsync(string tenantKey, UpdateTenant update, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Tenant(tenantKey).UpdateAsync(update));

    private static async Task<Ok<TenantView>> SuspendAsync(string tenantKey, SuspendRequest request, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Tenant(tenantKey).SuspendAsync(request.Reason));

    private static async Task<Ok<TenantView>> ReactivateAsync(string tenantKey, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Tenant(tenantKey).ReactivateAsync());

    private static async Task<Ok<IReadOnlyList<TenantUserView>>> ListUsersAsync(string tenantKey, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Tenant(tenantKey).ListUsersAsync());

    private static async Task<Created<TenantUserView>> AddUserAsync(string tenantKey, AddTenantUser request, IGrainFactory grains)
    {
        var user = await grains.Tenant(tenantKey).AddUserAsync(request);
        return TypedResults.Created($"/api/v1/tenants/{tenantKey}/users/{Uri.EscapeDataString(user.UserId)}", user);
    }

    private static async Task<Ok<TenantUserView>> GetUserAsync(string tenantKey, string userId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Tenant(tenantKey).GetUserAsync(userId));

    private static async Task<Ok<TenantUserView>> UpdateUserAsync(string tenantKey, string userId, UpdateTenantUser update, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Tenant(tenantKey).UpdateUserAsync(userId, update));

    private static async Task<Ok<IReadOnlyList<ApiKeyView>>> ListApiKeysAsync(string tenantKey, string userId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Tenant(tenantKey).ListApiKeysAsync(userId));

    private static async Task<Created<IssuedApiKey>> CreateApiKeyAsync(string tenantKey, string userId, CreateApiKey request, IGrainFactory grains)
    {
        var issued = await grains.Tenant(tenantKey).CreateApiKeyAsync(userId, request);
        return TypedResults.Created($"/api/v1/tenants/{tenantKey}/users/{Uri.EscapeDataString(userId)}/api-keys", issued);
    }

    private static async Task<Ok<ApiKeyView>> RevokeApiKeyAsync(string tenantKey, Guid keyId, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Tenant(tenantKey).RevokeApiKeyAsync(keyId));

    private static async Task<Ok<IReadOnlyList<QuotaUsage>>> GetQuotasAsync(string tenantKey, IGrainFactory grains) =>
        TypedResults.Ok(await grains.Tenant(tenantKey).GetQuotaUsageAsync());
}
