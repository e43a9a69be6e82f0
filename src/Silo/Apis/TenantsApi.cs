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
        routes.MapGet("/api/v1/me", (IGrainFactory grains) => Directory(grains).WhoAmIAsync())
            .WithTags("Tenants").WithSummary("The caller behind the API key: user, tenant, roles, permissions");

        var tenants = routes.MapGroup("/api/v1/tenants").WithTags("Tenants");
        tenants.MapPost("/", CreateTenantAsync).WithSummary("Create a tenant (platform admin)");
        tenants.MapGet("/", (IGrainFactory grains, string? after, int? limit) => Directory(grains).ListTenantsAsync(after, limit ?? 100))
            .WithSummary("List tenants in key order (platform admin)");
        tenants.MapGet("/{tenantKey}", (string tenantKey, IGrainFactory grains) => Tenant(grains, tenantKey).GetAsync())
            .WithSummary("Read a tenant");
        tenants.MapPatch("/{tenantKey}", (string tenantKey, UpdateTenant update, IGrainFactory grains) => Tenant(grains, tenantKey).UpdateAsync(update))
            .WithSummary("Change a tenant's name, tier, quotas, compliance frameworks or data residency (platform admin)");
        tenants.MapPost("/{tenantKey}/suspend", (string tenantKey, SuspendRequest request, IGrainFactory grains) => Tenant(grains, tenantKey).SuspendAsync(request.Reason))
            .WithSummary("Suspend a tenant: its users' keys are refused (platform admin)");
        tenants.MapPost("/{tenantKey}/reactivate", (string tenantKey, IGrainFactory grains) => Tenant(grains, tenantKey).ReactivateAsync())
            .WithSummary("Reactivate a suspended tenant (platform admin)");

        tenants.MapGet("/{tenantKey}/users", (string tenantKey, IGrainFactory grains) => Tenant(grains, tenantKey).ListUsersAsync())
            .WithSummary("List the tenant's users");
        tenants.MapPost("/{tenantKey}/users", AddUserAsync).WithSummary("Add a user (tenant admin); counts against the users quota");
        tenants.MapGet("/{tenantKey}/users/{userId}", (string tenantKey, string userId, IGrainFactory grains) => Tenant(grains, tenantKey).GetUserAsync(userId))
            .WithSummary("Read a user");
        tenants.MapPatch("/{tenantKey}/users/{userId}",
                (string tenantKey, string userId, UpdateTenantUser update, IGrainFactory grains) => Tenant(grains, tenantKey).UpdateUserAsync(userId, update))
            .WithSummary("Change a user's email, roles, permissions, status (active/disabled) or MFA flag (tenant admin)");

        tenants.MapGet("/{tenantKey}/users/{userId}/api-keys",
                (string tenantKey, string userId, IGrainFactory grains) => Tenant(grains, tenantKey).ListApiKeysAsync(userId))
            .WithSummary("List a user's API keys, without secrets");
        tenants.MapPost("/{tenantKey}/users/{userId}/api-keys", CreateApiKeyAsync)
            .WithSummary("Issue an API key for a user; the secret is in this answer only");
        tenants.MapDelete("/{tenantKey}/api-keys/{keyId:guid}", (string tenantKey, Guid keyId, IGrainFactory grains) => Tenant(grains, tenantKey).RevokeApiKeyAsync(keyId))
            .WithSummary("Revoke an API key; it is refused from the next call on");

        tenants.MapGet("/{tenantKey}/quotas", (string tenantKey, IGrainFactory grains) => Tenant(grains, tenantKey).GetQuotaUsageAsync())
            .WithSummary("Quota limits and current usage");
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

    private static async Task<Created<TenantView>> CreateTenantAsync(CreateTenantRequest request, IGrainFactory grains)
    {
        PhantomMl.Grains.Tenants.TenantValidation.TenantKey(request.TenantKey ?? "");
        var tenant = await Tenant(grains, request.TenantKey!).CreateAsync(new CreateTenant(request.Name, request.SubscriptionTier,
            request.IsolationLevel, request.ResourceQuotas, request.ComplianceFrameworks, request.DataResidency));
        return TypedResults.Created($"/api/v1/tenants/{tenant.TenantKey}", tenant);
    }

    private static async Task<Created<TenantUserView>> AddUserAsync(string tenantKey, AddTenantUser request, IGrainFactory grains)
    {
        var user = await Tenant(grains, tenantKey).AddUserAsync(request);
        return TypedResults.Created($"/api/v1/tenants/{tenantKey}/users/{Uri.EscapeDataString(user.UserId)}", user);
    }

    private static async Task<Created<IssuedApiKey>> CreateApiKeyAsync(string tenantKey, string userId, CreateApiKey request, IGrainFactory grains)
    {
        var issued = await Tenant(grains, tenantKey).CreateApiKeyAsync(userId, request);
        return TypedResults.Created($"/api/v1/tenants/{tenantKey}/users/{Uri.EscapeDataString(userId)}/api-keys", issued);
    }

    private static ITenantGrain Tenant(IGrainFactory grains, string tenantKey) => grains.Tenant(tenantKey);

    private static ITenantDirectoryGrain Directory(IGrainFactory grains) => grains.TenantDirectory();
}
