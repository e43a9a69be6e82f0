using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Security;

/// <summary>
/// The one place that decides whether a caller may do something to a tenant's resource, before any work on it. Another
/// tenant's resources answer 404, exactly like missing ones, so ids of other tenants cannot even be probed; a refusal
/// inside the caller's own tenant answers 403. Both leave a denied audit row in the caller's tenant. A tenant user's
/// tenant is known from their key, so telling "mine" from "not mine" costs no database work; only a platform admin's
/// call resolves the addressed tenant key.
/// </summary>
public sealed class AccessGuard(CallerAuthenticator authenticator, TenantDatabase database)
{
    /// <summary>
    /// Authenticates the current call and checks <paramref name="permission"/> on the tenant addressed by
    /// <paramref name="tenantKey"/>; returns the caller and the tenant's id.
    /// </summary>
    /// <param name="tenantKey">The tenant key the caller addressed.</param>
    /// <param name="permission">The permission the operation needs.</param>
    /// <param name="audit">What the caller tried, recorded when refused.</param>
    public async Task<TenantAccess> AuthorizeAsync(string tenantKey, string permission, AuditEvent audit)
    {
        var caller = await authenticator.AuthenticateAsync();
        if (caller.IsPlatformAdmin)
        {
            return new TenantAccess(caller, await TenantStore.ResolveAsync(database, tenantKey) ?? throw PhantomException.NotFound("tenant", tenantKey));
        }

        if (caller.TenantId is not { } tenantId || caller.TenantKey != tenantKey)
        {
            await DenyAsync(caller, audit, new { reason = "not-found-or-other-tenant", tenant = BoundedTenantKey(tenantKey), permission });
            throw PhantomException.NotFound(audit.ResourceType, audit.ResourceId);
        }

        await RequireActiveAsync(caller, tenantKey, permission, audit);
        return new TenantAccess(caller, tenantId);
    }

    /// <summary>
    /// Authenticates the current call and checks <paramref name="permission"/> on the tenant <paramref name="tenantId"/>,
    /// for resources found by id rather than by tenant key (null: no such tenant, answered like another tenant's).
    /// </summary>
    public async Task<Caller> AuthorizeAsync(Guid? tenantId, string permission, AuditEvent audit)
    {
        var caller = await authenticator.AuthenticateAsync();
        if (caller.IsPlatformAdmin && tenantId is not null)
        {
            return caller;
        }

        if (tenantId is null || caller.TenantId != tenantId)
        {
            await DenyAsync(caller, audit, new { reason = "not-found-or-other-tenant", permission });
            throw PhantomException.NotFound(audit.ResourceType, audit.ResourceId);
        }

        await RequireActiveAsync(caller, caller.TenantKey ?? "", permission, audit);
        return caller;
    }

    /// <summary>Audits the refusal of <paramref name="permission"/> and throws 403.</summary>
    public async Task RefuseAsync(Caller caller, AuditEvent audit, string permission)
    {
        await DenyAsync(caller, audit, new { reason = "missing-permission", permission });
        throw PhantomException.Forbidden($"This operation needs the permission '{permission}', which your roles do not grant.", permission);
    }

    /// <summary>Authenticates the current call and checks a platform-wide permission (no tenant involved).</summary>
    public async Task<Caller> AuthorizePlatformAsync(string permission, AuditEvent audit)
    {
        var caller = await authenticator.AuthenticateAsync();
        if (caller.Can(permission) && caller.IsPlatformAdmin)
        {
            return caller;
        }

        await DenyAsync(caller, audit, new { reason = "missing-permission", permission });
        throw PhantomException.Forbidden($"This operation needs the platform permission '{permission}'.", permission);
    }

    private async Task RequireActiveAsync(Caller caller, string tenantKey, string permission, AuditEvent audit)
    {
        if (!caller.TenantActive)
        {
            await DenyAsync(caller, audit, new { reason = "tenant-suspended", permission });
            throw PhantomException.TenantSuspended(tenantKey);
        }

        if (!caller.Can(permission))
        {
            await RefuseAsync(caller, audit, permission);
        }
    }

    private static string BoundedTenantKey(string tenantKey) => tenantKey.Length <= 64 ? tenantKey : tenantKey[..64];

    private Task DenyAsync(Caller caller, AuditEvent audit, object details) =>
        AuditRecorder.RecordAttemptAsync(database, caller.TenantId ?? CallerAuthenticator.PlatformTenantId, caller.UserId, caller.Client,
            audit.As(AuditEvent.Denied, details));
}

/// <summary>An authorized call on a tenant: who calls, and the tenant's id.</summary>
public readonly record struct TenantAccess(Caller Caller, Guid TenantId);
